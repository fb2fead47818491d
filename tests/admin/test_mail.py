"""Account e-mails through a real SMTP server (aiosmtpd): links, headers, failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from facegate.admin import mail
from facegate.config import Settings
from facegate.errors import MailDisabled, UnreachableEmail
from tests.support.mail import Mailbox, smtp_server
from tests.support.servers import free_port


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as box:
        yield box


def settings(port: int, **extra: object) -> Settings:
    values: dict[str, object] = {
        "enable_email_server": True,
        "email_host": f"127.0.0.1:{port}",
        "email_username": "",
        "email_from": "facegate <noreply@example.com>",
        "public_url": "https://faces.example.com/",
    }
    return Settings.model_validate(values | extra)


def test_reset_mail_carries_a_link_to_the_reset_page(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    mail.send_reset(settings(port), to="ann@example.com", first_name="Ann", token="t o+k")
    (message,) = box.messages
    assert (message["To"], message["From"]) == ("ann@example.com", "facegate <noreply@example.com>")
    assert "reset" in message["Subject"]
    assert box.link() == "https://faces.example.com/reset-password?token=t+o%2Bk"
    assert "(valid 15 minutes, usable once)" in box.text()


def test_confirmation_mail_links_to_the_admin_api(mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    mail.send_confirmation(settings(port), to="ann@example.com", first_name="Ann", token="abc")
    assert box.link() == "https://faces.example.com/admin/user/registration/confirm?token=abc"
    assert "(valid 24 hours)" in box.text()


def test_disabled_mail_is_an_error() -> None:
    with pytest.raises(MailDisabled):
        mail.send(settings(1, enable_email_server=False), to="a@example.com", subject="s", text="t")


def test_unreachable_server_is_a_mail_error() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(MailDisabled, match="We cannot send an email"):
        mail.send(settings(port), to="a@example.com", subject="s", text="t")


class Refuser(Mailbox):
    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        _envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        return "550 no such user"


def test_a_refused_recipient_is_code_24() -> None:
    port = free_port()
    controller = Controller(Refuser(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(UnreachableEmail) as caught:
            mail.send(settings(port), to="ghost@example.com", subject="s", text="t")
    finally:
        controller.stop()
    assert caught.value.code == 24 and "ghost@example.com" in caught.value.message
