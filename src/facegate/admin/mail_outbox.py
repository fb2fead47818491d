"""The mail outbox: account e-mails written in the request's transaction, sent by a worker.

A request that mails (sign-up, password reset) only adds a row, so it answers the same, in the
same time, whether the address is registered, unknown, or the mail server is down; a reset's
row is even the same for every address, the worker finds the account and writes the mail. One worker
thread per server process claims due mails with a lease (facegate.db.leases, as the event
deliveries), sends them, and retries with backoff; failures are logged and listed to owners
and administrators (GET /admin/mail), never to the requester. A mail's text holds a link's
token, so it is blanked once the mail is sent or given up on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from facegate.admin import accounts, audit, logins
from facegate.admin.accounts import RESET_TTL
from facegate.admin.mail import RESET, TIMEOUT_SECONDS, Message, reset, send
from facegate.config import Settings
from facegate.db.leases import Poller, backoff, claim, holder
from facegate.db.session import bulk_write
from facegate.db.tables import OutgoingMail, utcnow
from facegate.errors import UnreachableEmail

log = logging.getLogger(__name__)

# Set in a session that queued mail, so this process's worker is woken when it commits.
WRITTEN = "facegate.mail_written"
LEASE = timedelta(seconds=TIMEOUT_SECONDS * 2)
LONGEST_WAIT = 15 * 60
BATCH = 10
# Sent and failed mails are listed this long; the audit trail is pruned as often.
KEPT = timedelta(days=7)
PRUNE_EVERY = timedelta(minutes=10)


def queue(s: Session, message: Message) -> None:
    now = utcnow()
    s.add(
        OutgoingMail(
            kind=message.kind,
            recipient=message.to,
            subject=message.subject,
            text=message.text,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            expires_at=now + message.ttl,
            created_at=now,
            updated_at=now,
        )
    )
    s.info[WRITTEN] = True


def queue_reset(s: Session, *, email: str) -> None:
    """A password reset asked for `email`, whether an account has it or not: the worker looks
    the account up, issues the token and writes the mail (or skips an address no enabled
    account has), so the request does the very same work for every address."""
    queue(s, Message(RESET, email.strip().lower(), "", "", RESET_TTL))


@dataclass(frozen=True)
class MailView:
    """A mail as owners see it: no text (it holds the link's token)."""

    id: int
    kind: str
    recipient: str
    state: str
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


def recent(s: Session, *, state: str | None = None, limit: int = 50) -> list[MailView]:
    """The latest mails, newest first; `state`: only pending, sent or failed ones."""
    query = select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(limit)
    if state:
        query = query.where(OutgoingMail.state == state)
    return [
        MailView(
            id=row.id,
            kind=row.kind,
            recipient=row.recipient,
            state=row.state,
            attempts=row.attempts,
            error=row.error,
            next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in s.scalars(query)
    ]


class MailWorker(Poller):
    """Sends the outbox's mails; also forgets old mails, audit entries past their retention and
    idle throttle counters."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        super().__init__(
            sessions, name="facegate-mail", every=settings.events_poll_seconds, written=WRITTEN
        )
        self._settings = settings
        self._me = holder()
        self._pruned_at = utcnow() - PRUNE_EVERY

    def poll(self) -> int:
        self._prune()
        if not self._settings.enable_email_server:
            return 0
        now = utcnow()
        due = (
            select(OutgoingMail.id)
            .where(
                OutgoingMail.state == "pending",
                OutgoingMail.next_attempt_at <= now,
                or_(OutgoingMail.claimed_until.is_(None), OutgoingMail.claimed_until < now),
            )
            .order_by(OutgoingMail.id)
            .limit(BATCH)
        )
        with self._sessions() as s, s.begin():
            ids = s.scalars(due).all()
            claimed = claim(s, OutgoingMail, ids, holder=self._me, now=now, until=now + LEASE)
        for mail_id in claimed:
            self._send(mail_id)
        return len(claimed)

    def _write_reset(self, mail: OutgoingMail) -> OutgoingMail | None:
        """The reset mail of the account with the address, with a new token; None when no
        enabled account has it (the request was answered the same: 204)."""
        now = utcnow()
        mine = update(OutgoingMail).where(
            OutgoingMail.id == mail.id, OutgoingMail.claimed_by == self._me
        )
        with self._sessions() as s, s.begin():
            user = accounts.user_by_email(s, mail.recipient)
            if user is None or not user.enabled:
                skipped = mine.values(
                    state="skipped",
                    error="No enabled account has this address",
                    claimed_by=None,
                    claimed_until=None,
                    updated_at=now,
                )
                bulk_write(s, skipped)
                return None
            token = accounts.issue_token(s, user=user, purpose=accounts.RESET)
            message = reset(self._settings, to=user.email, first_name=user.first_name, token=token)
            bulk_write(s, mine.values(subject=message.subject, text=message.text))
        mail.subject, mail.text = message.subject, message.text
        return mail

    def _prune(self) -> None:
        now = utcnow()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        retention = timedelta(days=self._settings.audit_retention_days)
        with self._sessions() as s, s.begin():
            audit.prune(s, before=now - retention)
            logins.forget_idle(s, at=now)
            done = OutgoingMail.state.in_(("sent", "failed", "skipped"))
            bulk_write(s, delete(OutgoingMail).where(done, OutgoingMail.updated_at < now - KEPT))

    def _send(self, mail_id: int) -> None:
        with self._sessions() as s:
            mail = s.get(OutgoingMail, mail_id)
        if mail is None:
            return
        if not mail.text:  # a reset asked for, not written yet
            written = self._write_reset(mail)
            if written is None:
                return
            mail = written
        attempts, now = mail.attempts + 1, utcnow()
        error = None
        try:
            send(self._settings, to=mail.recipient, subject=mail.subject, text=mail.text)
            state = "sent"
        except UnreachableEmail as refused:  # the server will not take this recipient, ever
            state, error = "failed", refused.message
        except Exception as failure:  # the server is down, busy, refuses to log in...
            error = str(failure)[:500]
            gave_up = attempts >= self._settings.mail_max_attempts or mail.expires_at <= now
            state = "failed" if gave_up else "pending"
        retry = backoff(
            attempts, initial=self._settings.mail_retry_initial_seconds, longest=LONGEST_WAIT
        )
        if error is not None:
            log.warning(
                "%s mail %d to %s, attempt %d: %s", state, mail.id, mail.recipient, attempts, error
            )
        with self._sessions() as s, s.begin():
            bulk_write(
                s,
                update(OutgoingMail)
                .where(OutgoingMail.id == mail.id, OutgoingMail.claimed_by == self._me)
                .values(
                    state=state,
                    attempts=attempts,
                    next_attempt_at=now + retry,
                    claimed_by=None,
                    claimed_until=None,
                    error=error,
                    text=mail.text if state == "pending" else "",
                    updated_at=now,
                ),
            )
