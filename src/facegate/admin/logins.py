"""Login sessions (hashed tokens, CSRF token, sliding expiry, revocation) and login throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facegate.db.session import bulk_write
from facegate.db.tables import LoginFailure, LoginSession, User, utcnow

# Throttling (docs/admin-api.md): after LIMIT consecutive failures, each attempt waits
# 2^(failures - LIMIT) seconds after the last failure, capped; an address forgets after an hour.
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
MAX_WAIT = timedelta(minutes=15)
ADDRESS_MEMORY = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)
# Password-reset e-mails per address, counted and spaced the same way (the counter is
# forgotten like an address's): the mailbox and the SMTP server's reputation are not flooded.
RESET_MAIL_LIMIT = 3
# Counters forgotten after ADDRESS_MEMORY without a new attempt; the rest only by a success.
_FORGETFUL = ("address:", "reset-mail:")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A new session as the browser gets it: the raw token exists only here and in the cookie."""

    token: str
    csrf_token: str
    expires_at: datetime


def start(s: Session, *, user: User, ttl: timedelta, replacing: str | None = None) -> Issued:
    """A fresh session id and CSRF token; the session the browser presented is revoked."""
    if replacing:
        revoke(s, token=replacing)
    # The user's dead sessions are of no more use; dropping them here keeps the table small.
    s.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id,
            or_(LoginSession.revoked_at.is_not(None), LoginSession.expires_at <= utcnow()),
        )
    )
    token = secrets.token_urlsafe(32)
    issued = Issued(token, secrets.token_urlsafe(32), utcnow() + ttl)
    s.add(
        LoginSession(
            token_hash=token_hash(token),
            csrf_token=issued.csrf_token,
            user_id=user.id,
            expires_at=issued.expires_at,
        )
    )
    s.flush()
    return issued


def active(s: Session, *, token: str) -> LoginSession | None:
    """The live (not expired, not revoked) session of a cookie token."""
    row = s.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def extend(row: LoginSession, *, ttl: timedelta) -> bool:
    """Slide the expiry; written at most once per tenth of the TTL so reads stay reads."""
    new_expiry = utcnow() + ttl
    if new_expiry - row.expires_at < ttl / 10:
        return False
    row.expires_at = new_expiry
    return True


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def revoke(s: Session, *, token: str) -> None:
    s.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_all(s: Session, *, user: User, keep: LoginSession | None = None) -> None:
    """Log a user out everywhere (password changed or reset), optionally but one session."""
    query = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    s.execute(query.values(revoked_at=utcnow()))


# --- throttling ---------------------------------------------------------------------------------


def _account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def _keys(email: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(_account_key(email), ACCOUNT_LIMIT)]
    if address:
        keys.append((f"address:{address}", ADDRESS_LIMIT))
    return keys


def _forgotten(row: LoginFailure, at: datetime) -> bool:
    return row.key.startswith(_FORGETFUL) and at - row.last_failure_at > ADDRESS_MEMORY


def _wait(row: LoginFailure, limit: int, at: datetime) -> int:
    """Seconds still to wait before this key may try again (0: go ahead)."""
    if _forgotten(row, at):
        return 0
    if row.count < limit:
        return 0
    delay = min(timedelta(seconds=2 ** (row.count - limit)), MAX_WAIT)
    remaining = row.last_failure_at + delay - at
    return max(0, int(remaining.total_seconds() + 0.999))


def wait_seconds(s: Session, *, email: str, address: str | None) -> int:
    """How long this account or address must still wait; checked before the password."""
    at = utcnow()
    waits = [0]
    for key, limit in _keys(email, address):
        row = s.get(LoginFailure, key)
        if row is not None:
            waits.append(_wait(row, limit, at))
    return max(waits)


def record_failure(s: Session, *, email: str, address: str | None) -> None:
    at = utcnow()
    for key, _limit in _keys(email, address):
        _count(s, key, at)


def forget_idle(s: Session, *, at: datetime) -> None:
    """Counters idle for a day are forgotten, so guesses at made-up e-mails do not pile up
    (on every failure recorded, and by the mail worker's housekeeping)."""
    s.execute(delete(LoginFailure).where(LoginFailure.last_failure_at < at - FORGET_AFTER))


def _count(s: Session, key: str, at: datetime) -> None:
    forget_idle(s, at=at)
    row = s.get(LoginFailure, key, with_for_update=True)
    if row is None:
        s.add(LoginFailure(key=key, count=1, last_failure_at=at))
        return
    row.count = 1 if _forgotten(row, at) else row.count + 1
    row.last_failure_at = at


def attempt(s: Session, *, email: str, address: str | None) -> int:
    """Count a login attempt against its address, then its account, BEFORE the password is
    checked; returns how long to wait (0: counted, go ahead and check the password).

    Each count is a conditional write (facegate.admin.logins._take), so guesses sent at once
    are counted one by one and the sixth of them is throttled whatever the order their
    password checks end in. A throttled address counts nothing; a login that then succeeds is
    handed back its count (`refund`). Commit before the slow check, so every process sees it."""
    at = utcnow()
    for key, limit in reversed(_keys(email, address)):
        wait = _take(s, key, limit, at)
        if wait:
            return wait
    return 0


# A counter changed by another attempt between its read and its write is read again; past this
# many tries the attempt is told to wait a second rather than loop.
_TAKE_TRIES = 20


def _take(s: Session, key: str, limit: int, at: datetime) -> int:
    """Count one attempt of `key` unless it must wait first: a compare-and-set on the count
    read, so two attempts never both count from the same value (on SQLite the UPDATE takes the
    write lock; on PostgreSQL the loser's UPDATE waits for the winner's commit, then matches no
    row and reads again)."""
    for _ in range(_TAKE_TRIES):
        seen = s.execute(
            select(LoginFailure.count, LoginFailure.last_failure_at).where(LoginFailure.key == key)
        ).one_or_none()
        if seen is None:
            try:
                with s.begin_nested():
                    s.add(LoginFailure(key=key, count=1, last_failure_at=at))
                return 0
            except IntegrityError:
                continue
        # Values, not the session's object, which could hold an older read.
        row = LoginFailure(key=key, count=seen.count, last_failure_at=seen.last_failure_at)
        wait = _wait(row, limit, at)
        if wait:
            return wait
        counted = 1 if _forgotten(row, at) else row.count + 1
        changed = bulk_write(
            s,
            update(LoginFailure)
            .where(LoginFailure.key == key, LoginFailure.count == row.count)
            .values(count=counted, last_failure_at=at),
        )
        if changed == 1:
            return 0
    return 1


def refund(s: Session, *, address: str | None) -> None:
    """A counted attempt that logged in was no failure of its address."""
    if address:
        bulk_write(
            s,
            update(LoginFailure)
            .where(LoginFailure.key == f"address:{address}", LoginFailure.count > 0)
            .values(count=LoginFailure.count - 1),
        )


def record_success(s: Session, *, email: str) -> None:
    """The account's counter restarts; the address's does not (an attacker's own account
    must not reset the count of guesses made against others)."""
    row = s.get(LoginFailure, _account_key(email))
    if row is not None:
        s.delete(row)
        s.flush()


def _reset_mail_key(email: str) -> str:
    return f"reset-mail:{email.strip().lower()}"


def reset_mail_attempt(s: Session, *, email: str) -> int:
    """Count a password-reset e-mail for this address unless it must wait; returns the wait
    (0: counted). Counted for every request, whether or not the address has an account, so
    the answer says nothing about which addresses are registered; counted by the same
    conditional write as logins, so requests sent at once cannot pass the limit together."""
    return _take(s, _reset_mail_key(email), RESET_MAIL_LIMIT, utcnow())
