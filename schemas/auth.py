"""Sign-in requests and token responses."""

from __future__ import annotations

from pydantic import Field

from schemas.common import Model


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
