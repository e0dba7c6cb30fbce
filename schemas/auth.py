"""Sign-in requests and token responses."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.common import Model, Push, StationPush


class PasswordLogin(Model):
    login: str = Field(min_length=1, max_length=64, description="username or 11-digit mobile")
    password: str = Field(min_length=1, max_length=200)


class WeChatLogin(Model):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login()")
    link_code: str | None = Field(
        default=None,
        max_length=16,
        description="one-time code from the station linking this WeChat to an elder",
    )


class WeChatWebLogin(Model):
    """An H5 page back from the official account's authorisation with ``?code&state``."""

    code: str = Field(min_length=1, max_length=128, description="the code WeChat appended")
    state: str = Field(min_length=1, max_length=200, description="the state WeChat echoed")
    link_code: str | None = Field(
        default=None,
        max_length=16,
        description="one-time code from the station linking this WeChat to an elder",
    )


class RefreshRequest(Model):
    refresh_token: str = Field(min_length=10, max_length=200)


class PasswordChange(Model):
    old_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class PasswordReset(Model):
    new_password: str = Field(min_length=1, max_length=200)


class TokenPair(Model):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    role: str
    user_id: int
    station_id: int | None = None
    caregiver_id: int | None = None
    elder_id: int | None = None


class MeOut(Model):
    user_id: int
    role: str
    station_id: int | None
    caregiver_id: int | None
    elder_id: int | None


class SignInLockedPush(StationPush):
    """To the station's operators: sign-ins to one of the station's accounts from one address
    failed too often and are held for ``seconds`` (someone guessing, or a forgotten
    password)."""

    TYPE: ClassVar[str] = "auth.sign_in_locked"

    user_id: int
    display_name: str
    source: str
    seconds: int


# Every push this module defines (schemas/pushes.py lists them all).
PUSHES: tuple[type[Push], ...] = (SignInLockedPush,)
