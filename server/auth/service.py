"""Sign-in flows: password with lockout, WeChat code2Session, the official account's web
authorisation for H5 pages, refresh rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.auth import TokenPair
from server.auth.directory import directory_of
from server.auth.passwords import verify_password
from server.auth.principal import Principal, Role
from server.auth.tables import refresh_tokens, users
from server.auth.tokens import hash_refresh, issue_access, new_refresh_token
from server.auth.wechat import Scope, WeChatAuth, WeChatOAuth
from server.errors import ApiError
from server.platform import Platform, Tx, audit
from server.texts import render


async def principal_for(platform: Platform, conn: AsyncConnection, user: Any) -> Principal:
    """The caller a user signs in as: their role, station, caregiver and elder records."""
    roles = await directory_of(platform).roles(conn, user.id)
    station = user.station_id if roles.elder_id is None else roles.elder_station_id
    return Principal(
        user_id=user.id,
        role=Role(user.role),
        station_id=station,
        caregiver_id=roles.caregiver_id,
        elder_id=roles.elder_id,
    )


async def _issue(platform: Platform, tx: Tx, user: Any) -> TokenPair:
    p = await principal_for(platform, tx.conn, user)
    s = platform.settings
    token, digest = new_refresh_token()
    await tx.conn.execute(
        insert(refresh_tokens).values(
            user_id=p.user_id,
            token_hash=digest,
            created_at=tx.now,
            expires_at=tx.now + timedelta(seconds=s.refresh_token_ttl_s),
        )
    )
    access = issue_access(p, secret=s.jwt_secret, now=tx.now, ttl_s=s.access_token_ttl_s)
    return TokenPair(
        access_token=access,
        refresh_token=token,
        expires_in=s.access_token_ttl_s,
        role=p.role.value,
        user_id=p.user_id,
        station_id=p.station_id,
        caregiver_id=p.caregiver_id,
        elder_id=p.elder_id,
    )


async def password_login(platform: Platform, login: str, password: str) -> TokenPair:
    """Operators and caregivers sign in with username or mobile and a password."""
    async with platform.tx() as tx:
        user = (
            await tx.conn.execute(
                select(users).where(or_(users.c.username == login, users.c.phone == login))
            )
        ).first()
        if user is not None and user.locked_until is not None and user.locked_until > tx.now:
            raise ApiError(
                423,
                "account_locked",
                "too many failed sign-ins; try again later",
                retry_after_s=int((user.locked_until - tx.now).total_seconds()),
            )
        if user is None or not user.active or not verify_password(user.password_hash, password):
            if user is not None:
                await _count_failure(platform, tx, user)
            failed = True
        else:
            failed = False
            await tx.conn.execute(
                update(users)
                .where(users.c.id == user.id)
                .values(failed_logins=0, locked_until=None)
            )
            pair = await _issue(platform, tx, user)
    if failed:
        raise ApiError(401, "bad_credentials", "wrong username or password")
    return pair


async def _count_failure(platform: Platform, tx: Tx, user: Any) -> None:
    """Count a failed sign-in in the store itself (``failed_logins + 1 ... RETURNING``):
    parallel guesses each read the row before any of them wrote, so a read-then-write
    count let ten guesses in at once count as one."""
    s = platform.settings
    failures = int(
        (
            await tx.conn.execute(
                update(users)
                .where(users.c.id == user.id)
                .values(failed_logins=users.c.failed_logins + 1)
                .returning(users.c.failed_logins)
            )
        ).scalar_one()
    )
    if failures >= s.login_max_failures:
        await tx.conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(failed_logins=0, locked_until=tx.now + timedelta(seconds=s.login_lockout_s))
        )
        await audit(tx, actor=None, action="lockout", object_type="user", object_id=user.id)


async def wechat_login(
    platform: Platform, wechat: WeChatAuth, code: str, link_code: str | None
) -> TokenPair:
    """Elders and families: a wx.login code; unknown openids become family accounts."""
    session = await wechat.code2session(code)
    return await _openid_sign_in(platform, session.openid, link_code, None)


async def _openid_sign_in(
    platform: Platform, openid: str, link_code: str | None, nickname: str | None
) -> TokenPair:
    for attempt in range(2):
        try:
            async with platform.tx() as tx:
                return await _wechat_sign_in(platform, tx, openid, link_code, nickname)
        except IntegrityError:
            # The same WeChat signing in twice at once: the other request created the
            # account; the second attempt finds it.
            if attempt:
                raise ApiError(
                    409,
                    "wechat_sign_in_conflict",
                    "the same WeChat account is signing in twice; retry",
                ) from None
    raise AssertionError("unreachable")


# ----- H5 pages inside WeChat: the official account's web authorisation ---------------------

OAUTH_STATE_TTL = timedelta(minutes=10)
# The official account's openids are another app's: kept apart from the mini-program's.
MP_PREFIX = "mp:"


def _state_mac(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), b"wechat-oauth." + payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode().rstrip("=")


def safe_next(raw: str | None) -> str:
    """Where the page goes back to: a path on this site (never another site)."""
    path = raw or "/m/family"
    if not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 200:
        raise ApiError(422, "bad_next", "next must be a path on this site", field="next")
    return path


def oauth_start(
    platform: Platform, oauth: WeChatOAuth, *, origin: str, next_path: str, scope: Scope
) -> tuple[str, str]:
    """(the URL to send the browser to, the nonce to keep in its cookie). The state carries
    the page to come back to and expires; it is signed, and matched with the cookie so that a
    code obtained in another browser cannot be replayed in this one."""
    nonce = secrets.token_urlsafe(12)
    until = int((platform.clock.now() + OAUTH_STATE_TTL).timestamp())
    payload = f"{nonce}.{until}"
    state = f"{payload}.{_state_mac(platform.settings.jwt_secret, payload)}"
    return oauth.authorize_url(origin + next_path, scope, state), nonce


def _check_state(platform: Platform, state: str, cookie_nonce: str | None) -> None:
    bad = ApiError(400, "oauth_state_invalid", "sign in again from the page", field="state")
    parts = state.split(".")
    if len(parts) != 3:
        raise bad
    nonce, until, mac = parts
    if not hmac.compare_digest(mac, _state_mac(platform.settings.jwt_secret, f"{nonce}.{until}")):
        raise bad
    if not until.isdigit() or int(until) < platform.clock.now().timestamp():
        raise ApiError(400, "oauth_state_expired", "the sign-in took too long; try again")
    if cookie_nonce is None or not hmac.compare_digest(nonce, cookie_nonce):
        raise bad


async def oauth_login(
    platform: Platform,
    oauth: WeChatOAuth,
    *,
    code: str,
    state: str,
    cookie_nonce: str | None,
    link_code: str | None,
) -> TokenPair:
    """The page came back from WeChat with ?code&state: the state is checked first, then the
    code exchanged for the openid, then the same sign-in as the mini-program's."""
    _check_state(platform, state, cookie_nonce)
    user = await oauth.exchange(code)
    if len(user.openid) > 64 - len(MP_PREFIX):
        raise ApiError(502, "wechat_error", "WeChat sign-in failed")
    return await _openid_sign_in(platform, MP_PREFIX + user.openid, link_code, user.nickname)


async def _wechat_sign_in(
    platform: Platform, tx: Tx, openid: str, link_code: str | None, nickname: str | None = None
) -> TokenPair:
    user = (await tx.conn.execute(select(users).where(users.c.wechat_openid == openid))).first()
    if link_code:
        user = await _link_elder(platform, tx, link_code, openid, user)
    if user is None:
        uid = (
            await tx.conn.execute(
                insert(users)
                .values(
                    role=Role.FAMILY.value,
                    display_name=nickname or render("account.wechat_user"),
                    wechat_openid=openid,
                    created_at=tx.now,
                )
                .returning(users.c.id)
            )
        ).scalar_one()
        user = (await tx.conn.execute(select(users).where(users.c.id == uid))).one()
    if not user.active:
        raise ApiError(403, "account_inactive", "this account is deactivated")
    return await _issue(platform, tx, user)


async def _link_elder(platform: Platform, tx: Tx, link_code: str, openid: str, user: Any) -> Any:
    people = directory_of(platform)
    elder = await people.elder_by_link_code(tx.conn, link_code)
    if elder is None:
        raise ApiError(404, "link_code_not_found", "this link code is not valid")
    if user is not None and user.role != Role.ELDER.value:
        raise ApiError(
            409, "wechat_already_used", "this WeChat account already belongs to someone else"
        )
    if user is not None and user.id != elder.user_id:
        # An openid is one account: the same WeChat cannot sign in as two elders.
        raise ApiError(
            409,
            "wechat_linked_to_another_elder",
            "this WeChat account is already linked to another elder",
        )
    if user is not None:
        # Already this elder's WeChat (a second code for the same phone): just spend it.
        await people.spend_link_code(tx.conn, elder.id)
        return user
    if elder.user_id is None:
        uid = (
            await tx.conn.execute(
                insert(users)
                .values(
                    role=Role.ELDER.value,
                    display_name=elder.name,
                    wechat_openid=openid,
                    station_id=elder.station_id,
                    created_at=tx.now,
                )
                .returning(users.c.id)
            )
        ).scalar_one()
        await people.spend_link_code(tx.conn, elder.id, user_id=uid)
    else:
        # The station issued a new code for an elder who has an account: a new phone. The
        # old phone's sessions end with it.
        await tx.conn.execute(
            update(users).where(users.c.id == elder.user_id).values(wechat_openid=openid)
        )
        await tx.conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == elder.user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=tx.now)
        )
        await people.spend_link_code(tx.conn, elder.id)
    await audit(tx, actor=None, action="wechat_linked", object_type="elder", object_id=elder.id)
    return (await tx.conn.execute(select(users).where(users.c.wechat_openid == openid))).one()


async def refresh(platform: Platform, token: str) -> TokenPair:
    """Rotate a refresh token: the old one is spent, a new pair is issued."""
    async with platform.tx() as tx:
        row = (
            await tx.conn.execute(
                select(refresh_tokens).where(refresh_tokens.c.token_hash == hash_refresh(token))
            )
        ).first()
        if row is None or row.revoked_at is not None or row.expires_at <= tx.now:
            raise ApiError(401, "invalid_refresh_token", "refresh token is not valid")
        spent = await tx.conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.id == row.id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=tx.now)
        )
        if spent.rowcount != 1:
            raise ApiError(401, "invalid_refresh_token", "refresh token is not valid")
        user = (await tx.conn.execute(select(users).where(users.c.id == row.user_id))).one()
        if not user.active:
            raise ApiError(401, "account_inactive", "this account is deactivated")
        return await _issue(platform, tx, user)
