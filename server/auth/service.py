"""Sign-in flows: password with lockout, WeChat code2Session, the official account's web
authorisation for H5 pages, refresh rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.auth import SignInLockedPush, TokenPair
from server.auth.directory import directory_of
from server.auth.passwords import check_new_password, hash_password, verify_password
from server.auth.principal import Principal, Role
from server.auth.tables import login_failures, refresh_tokens, users
from server.auth.tokens import hash_refresh, issue_access, new_refresh_token, new_session_id
from server.auth.wechat import Scope, WeChatAuth, WeChatOAuth
from server.errors import ApiError
from server.platform import Platform, Tx, audit, dialect_insert, queue_push
from server.store.engine import Store
from server.store.plain import driver_row
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


async def _issue(platform: Platform, tx: Tx, user: Any, family: str | None = None) -> TokenPair:
    """A new access and refresh token: for a new session (a sign-in), or the next in
    ``family`` (a refresh)."""
    p = replace(
        await principal_for(platform, tx.conn, user),
        session_id=family or new_session_id(),
        token_version=int(user.token_version),
    )
    s = platform.settings
    token, digest = new_refresh_token()
    await tx.conn.execute(
        insert(refresh_tokens).values(
            user_id=p.user_id,
            family=p.session_id,
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


async def password_login(
    platform: Platform, login: str, password: str, source: str = "local"
) -> TokenPair:
    """Operators and caregivers sign in with username or mobile and a password.

    An unknown login, a deactivated account and a wrong password get the same answer after
    the same work (an argon2 verify against a dummy hash). Failures count per login and
    source address: after ``login_max_failures`` that pair waits, each time twice as long,
    and the answer says how long; the station's operators get an event."""
    key = login.strip().lower()[:64]
    async with platform.tx() as tx:
        held = (
            await tx.conn.execute(
                select(login_failures.c.locked_until).where(
                    login_failures.c.login == key, login_failures.c.source == source
                )
            )
        ).scalar()
        if held is not None and held > tx.now:
            failed: int | None = int((held - tx.now).total_seconds()) + 1
        else:
            user = (
                await tx.conn.execute(
                    select(users).where(or_(users.c.username == login, users.c.phone == login))
                )
            ).first()
            stored = user.password_hash if user is not None and user.active else None
            right = verify_password(stored, password)
            if user is None or not right:
                # This attempt is answered as wrong (even the one that locks); the next
                # ones from here are told how long to wait.
                await _count_failure(platform, tx, key, source, user)
                failed = 0
            else:
                failed = None
                await tx.conn.execute(
                    delete(login_failures).where(
                        login_failures.c.login == key, login_failures.c.source == source
                    )
                )
                pair = await _issue(platform, tx, user)
    if failed:
        raise _locked(failed)
    if failed is not None:
        raise ApiError(401, "bad_credentials", "wrong username or password")
    return pair


def _locked(wait_s: int) -> ApiError:
    minutes = max(1, -(-wait_s // 60))
    return ApiError(
        423,
        "account_locked",
        f"too many failed sign-ins from here; try again in {minutes} minutes",
        retry_after_s=wait_s,
        minutes=minutes,
    )


async def _count_failure(platform: Platform, tx: Tx, key: str, source: str, user: Any) -> int:
    """Count a failed sign-in for (login, source) in the store itself (an upsert that adds
    one and returns the count): parallel guesses each count. Returns 0, or the seconds to
    wait when this failure locked the pair."""
    s = platform.settings
    ins = dialect_insert(tx.conn)(login_failures).values(
        login=key, source=source, failures=1, lockouts=0, last_at=tx.now
    )
    row = (
        await tx.conn.execute(
            ins.on_conflict_do_update(
                index_elements=[login_failures.c.login, login_failures.c.source],
                set_={"failures": login_failures.c.failures + 1, "last_at": tx.now},
            ).returning(login_failures.c.failures, login_failures.c.lockouts)
        )
    ).one()
    if int(row.failures) < s.login_max_failures:
        return 0
    wait_s = int(min(s.login_lockout_s * 2 ** int(row.lockouts), 24 * 3600))
    await tx.conn.execute(
        update(login_failures)
        .where(login_failures.c.login == key, login_failures.c.source == source)
        .values(
            failures=0,
            lockouts=login_failures.c.lockouts + 1,
            locked_until=tx.now + timedelta(seconds=wait_s),
        )
    )
    await audit(
        tx,
        actor=None,
        action="lockout",
        object_type="user" if user is not None else "login",
        object_id=user.id if user is not None else key,
        detail={"source": source, "seconds": wait_s},
    )
    if user is not None and user.station_id is not None:
        await _tell_operators(tx, user, source, wait_s)
    return wait_s


async def _tell_operators(tx: Tx, user: Any, source: str, wait_s: int) -> None:
    """The station's operators see that someone's sign-in was locked, from where, how long."""
    ops = (
        await tx.conn.execute(
            select(users.c.id).where(
                users.c.station_id == user.station_id,
                users.c.role == Role.OPERATOR.value,
                users.c.active.is_(True),
            )
        )
    ).scalars()
    msg = SignInLockedPush(
        station_id=int(user.station_id),
        user_id=int(user.id),
        display_name=str(user.display_name),
        source=source,
        seconds=wait_s,
    )
    for op in ops:
        queue_push(tx, f"user:{op}", msg)


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
    elder = await people.elder_by_link_code(tx.conn, link_code, tx.now)
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
        await end_sessions(tx, elder.user_id)
        await people.spend_link_code(tx.conn, elder.id)
    await audit(tx, actor=None, action="wechat_linked", object_type="elder", object_id=elder.id)
    return (await tx.conn.execute(select(users).where(users.c.wechat_openid == openid))).one()


async def refresh(platform: Platform, token: str) -> TokenPair:
    """Rotate a refresh token: the old one is spent, a new pair is issued in the same
    session. A spent token presented again was copied: the whole session (every token
    rotated from the same sign-in) is revoked, the thief's and the owner's alike."""
    reused = False
    async with platform.tx() as tx:
        row = (
            await tx.conn.execute(
                select(refresh_tokens).where(refresh_tokens.c.token_hash == hash_refresh(token))
            )
        ).first()
        if row is None or row.expires_at <= tx.now:
            raise ApiError(401, "invalid_refresh_token", "refresh token is not valid")
        spent = await tx.conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.id == row.id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=tx.now)
        )
        if spent.rowcount != 1:
            reused = await _revoke_family(tx, row.user_id, row.family)
            if reused:
                await audit(
                    tx,
                    actor=None,
                    action="refresh_reused",
                    object_type="user",
                    object_id=row.user_id,
                )
        else:
            user = (await tx.conn.execute(select(users).where(users.c.id == row.user_id))).one()
            if not user.active:
                raise ApiError(401, "account_inactive", "this account is deactivated")
            return await _issue(platform, tx, user, family=row.family or None)
    raise ApiError(
        401,
        "invalid_refresh_token",
        "refresh token is not valid",
        **({"session_revoked": True} if reused else {}),
    )


async def _revoke_family(tx: Tx, user_id: int, family: str) -> bool:
    """Revoke every live token of one session; True if one was live."""
    if not family:
        return False
    done = await tx.conn.execute(
        update(refresh_tokens)
        .where(
            refresh_tokens.c.user_id == user_id,
            refresh_tokens.c.family == family,
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=tx.now)
    )
    tx.hint("session", str(user_id))
    return bool(done.rowcount)


async def end_sessions(tx: Tx, user_id: int) -> None:
    """End every session of a user at once: their access tokens (version raised) and
    refresh tokens stop working, and their open sockets are closed."""
    await tx.conn.execute(
        update(users).where(users.c.id == user_id).values(token_version=users.c.token_version + 1)
    )
    await tx.conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=tx.now)
    )
    tx.hint("session", str(user_id))


_SESSION = "SELECT active, token_version FROM users WHERE id = $1"
_SESSION_OPEN = (
    "SELECT u.active, u.token_version, EXISTS (SELECT 1 FROM refresh_tokens r"
    " WHERE r.family = $2 AND r.user_id = $1 AND r.revoked_at IS NULL)"
    " FROM users u WHERE u.id = $1"
)


def _session_query(p: Principal) -> tuple[str, tuple[Any, ...]]:
    if p.session_id is None:
        return _SESSION, (p.user_id,)
    return _SESSION_OPEN, (p.user_id, p.session_id)


def _live(row: Sequence[Any] | None, p: Principal) -> bool:
    if row is None or not row[0] or int(row[1]) != p.token_version:
        return False
    return p.session_id is None or bool(row[2])


async def session_live(conn: AsyncConnection, p: Principal) -> bool:
    """Is the session this access token belongs to still open: the account active, the
    token version current, and (for a token with a session) one of its tokens unrevoked."""
    return _live(await driver_row(conn, *_session_query(p)), p)


async def session_live_now(store: Store, p: Principal) -> bool:
    """``session_live`` as every request asks it: one cheap read of committed data
    (``Store.peek``: on SQLite in place on the loop, no worker thread)."""
    return _live(await store.peek(*_session_query(p)), p)


async def sign_out(platform: Platform, p: Principal) -> None:
    """End this session (this device): its access and refresh tokens stop working."""
    async with platform.tx() as tx:
        if p.session_id is None:
            await end_sessions(tx, p.user_id)
        else:
            await _revoke_family(tx, p.user_id, p.session_id)
        await audit(tx, actor=p.user_id, action="sign_out", object_type="user", object_id=p.user_id)


async def sign_out_everywhere(platform: Platform, p: Principal) -> None:
    """End every session of the caller, on every device."""
    async with platform.tx() as tx:
        await end_sessions(tx, p.user_id)
        await audit(
            tx, actor=p.user_id, action="sign_out_all", object_type="user", object_id=p.user_id
        )


async def change_password(
    platform: Platform, p: Principal, old: str, new: str, source: str = "local"
) -> TokenPair:
    """A new password, with the old one: every other session ends; this device gets a new
    pair. A wrong old password counts as a failed sign-in (a stolen phone cannot guess)."""
    wait_s = 0
    async with platform.tx() as tx:
        user = (await tx.conn.execute(select(users).where(users.c.id == p.user_id))).one()
        key = (user.username or user.phone or str(user.id)).lower()
        if user.password_hash is None or not verify_password(user.password_hash, old):
            wait_s = await _count_failure(platform, tx, key, source, user)
        else:
            check_new_password(new, user.username, user.display_name, user.phone)
            await tx.conn.execute(
                update(users)
                .where(users.c.id == p.user_id)
                .values(password_hash=hash_password(new))
            )
            await end_sessions(tx, p.user_id)
            await audit(
                tx,
                actor=p.user_id,
                action="password_change",
                object_type="user",
                object_id=p.user_id,
            )
            fresh = (await tx.conn.execute(select(users).where(users.c.id == p.user_id))).one()
            return await _issue(platform, tx, fresh)
    if wait_s:
        raise _locked(wait_s)
    raise ApiError(403, "wrong_password", "the current password is not right")


async def reset_password(tx: Tx, actor: int, user_id: int, new: str) -> None:
    """An operator sets a staff member's password (an audit row); their sessions end."""
    user = (await tx.conn.execute(select(users).where(users.c.id == user_id))).one()
    check_new_password(new, user.username, user.display_name, user.phone)
    await tx.conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=hash_password(new), failed_logins=0, locked_until=None)
    )
    await end_sessions(tx, user_id)
    await audit(tx, actor=actor, action="password_reset", object_type="user", object_id=user_id)
