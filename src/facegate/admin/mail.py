"""Account e-mails (confirmation and password-reset links): their text, and sending with smtplib."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

from facegate.admin.accounts import CONFIRM_TTL, RESET_TTL
from facegate.config import Settings
from facegate.errors import MailDisabled, UnreachableEmail

CONFIRMATION = "confirmation"
RESET = "reset"
SMTP_PORT = 587
SMTPS_PORT = 465
TIMEOUT_SECONDS = 30


def _link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


@dataclass(frozen=True)
class Message:
    """An account e-mail: to whom, its subject and text, and how long it is worth sending."""

    kind: str
    to: str
    subject: str
    text: str
    ttl: timedelta


def confirmation(settings: Settings, *, to: str, first_name: str, token: str) -> Message:
    return Message(
        CONFIRMATION,
        to,
        "facegate: confirm your e-mail address",
        f"Hello {first_name},\n\nConfirm your facegate account by opening this link "
        f"(valid {_lasting(CONFIRM_TTL)}):\n\n"
        f"{_link(settings, '/admin/user/registration/confirm', token)}\n",
        CONFIRM_TTL,
    )


def reset(settings: Settings, *, to: str, first_name: str, token: str) -> Message:
    return Message(
        RESET,
        to,
        "facegate: reset your password",
        f"Hello {first_name},\n\nChoose a new password with this link "
        f"(valid {_lasting(RESET_TTL)}, usable once):\n\n"
        f"{_link(settings, '/reset-password', token)}\n\n"
        "If you did not ask for it, ignore this message.\n",
        RESET_TTL,
    )


def send_confirmation(settings: Settings, *, to: str, first_name: str, token: str) -> None:
    """Sent at once, not through the outbox (requests queue theirs: facegate.admin.outbox)."""
    _send(settings, confirmation(settings, to=to, first_name=first_name, token=token))


def send_reset(settings: Settings, *, to: str, first_name: str, token: str) -> None:
    """Sent at once, not through the outbox (requests queue theirs: facegate.admin.outbox)."""
    _send(settings, reset(settings, to=to, first_name=first_name, token=token))


def _send(settings: Settings, message: Message) -> None:
    send(settings, to=message.to, subject=message.subject, text=message.text)


def _lasting(ttl: timedelta) -> str:
    """A link's lifetime in words, e.g. "24 hours" or "15 minutes"."""
    minutes = int(ttl.total_seconds()) // 60
    return f"{minutes // 60} hours" if minutes % 60 == 0 else f"{minutes} minutes"


def _server(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.email_host.rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return settings.email_host, SMTP_PORT


def send(settings: Settings, *, to: str, subject: str, text: str) -> None:
    """Send one plain-text message; STARTTLS when offered, login when a user name is set."""
    if not settings.enable_email_server:
        raise MailDisabled
    message = EmailMessage()
    message["From"] = settings.email_from or settings.email_username
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    host, port = _server(settings)
    context = ssl.create_default_context()
    try:
        if port == SMTPS_PORT:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        with client:
            client.ehlo()
            if port != SMTPS_PORT and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if settings.email_username:
                client.login(settings.email_username, settings.email_password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise UnreachableEmail(to) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailDisabled(f"We cannot send an email: {exc}") from exc
