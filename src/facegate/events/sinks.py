"""Where deliveries go: a webhook (a signed HTTP POST) or the MQTT broker (QoS 1).

Each `send` answers an `Outcome` and never raises for the receiver's faults: the worker records
the outcome and schedules the retry.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import os
import socket
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

CONNECTED = "connected"  # an MqttPublisher's status while the broker holds its connection
SIGNATURE_HEADER = "X-Facegate-Signature"
EVENT_ID_HEADER = "X-Facegate-Event-Id"
EVENT_TYPE_HEADER = "X-Facegate-Event-Type"
# Characters an MQTT topic level may not hold as they are: the level separator, the two
# wildcards (a broker refuses a publish carrying them), and `%`, which escapes them.
_TOPIC_ESCAPES = {char: f"%{ord(char):02X}" for char in "%/+#\x00"}


@dataclass(frozen=True)
class Outcome:
    """A delivery attempt's answer: delivered, or why not (the HTTP status when there was one)."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None


def signature(secret: str, body: bytes) -> str:
    """The `X-Facegate-Signature` value: HMAC-SHA256 of the exact body with the hook's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would arrive as a GET without its body: a 3xx is a failed attempt."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class WebhookSender:
    """POSTs event bodies to webhooks, signed, without any proxy of the environment (receivers
    are usually on the local network, which a proxy could not reach)."""

    def __init__(self, *, timeout: float) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())

    def send(self, *, url: str, secret: str, event_id: str, type: str, body: bytes) -> Outcome:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "facegate",
                EVENT_ID_HEADER: event_id,
                EVENT_TYPE_HEADER: type,
                SIGNATURE_HEADER: signature(secret, body),
            },
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                _drain(response)
                return Outcome(200 <= response.status < 300, response.status)
        except HTTPError as error:
            return Outcome(False, error.code, f"HTTP {error.code} {error.reason}"[:500])
        # ValueError: what http.client says of a URL it cannot send to (a control character).
        except (URLError, OSError, http.client.HTTPException, ValueError) as error:
            reason = error.reason if isinstance(error, URLError) else error
            return Outcome(False, None, str(reason)[:500] or error.__class__.__name__)


def _drain(response: IO[bytes]) -> None:
    """Read (a bounded part of) the answer, so the connection ends cleanly."""
    response.read(64 * 1024)


def topic_level(name: str) -> str:
    """A service name as one MQTT topic level: `/`, `+`, `#`, NUL and `%` percent-encoded."""
    return "".join(_TOPIC_ESCAPES.get(char, char) for char in name)


def topic(prefix: str, service: str, type: str) -> str:
    """`<prefix>/<service>/<kind>`: `face.recognized` is `recognized`, `subject.added`
    `subject/added` (docs/events.md)."""
    kind = type.removeprefix("face.").replace(".", "/")
    return f"{prefix}/{topic_level(service)}/{kind}"


class MqttPublisher:
    """One connection to the broker per process, kept up by paho's network thread."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        timeout: float,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        """`on_connect`: called (on paho's thread) each time the broker accepts the connection."""
        parts = urlsplit(url)
        self.prefix = prefix
        self._on_connect = on_connect
        self._timeout = timeout
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"facegate-{socket.gethostname()}-{os.getpid()}",
        )
        if parts.username:
            self._client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        # Why the broker last refused the connection ("Not authorized"...), for the deliveries'
        # error: paho keeps retrying on its own, and "not connected" alone tells a user nothing.
        self._refusal = ""
        self._client.on_connect = self._connected
        tls = parts.scheme == "mqtts"
        if tls:
            self._client.tls_set()
        self._client.connect_async(
            parts.hostname or "localhost", parts.port or (8883 if tls else 1883)
        )
        self._client.loop_start()

    def _connected(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._refusal = f": {reason}" if reason.is_failure else ""
        if not reason.is_failure and self._on_connect is not None:
            self._on_connect()

    def status(self) -> str:
        """`connected`, or why not (as the deliveries' error says it)."""
        if self._client.is_connected():
            return CONNECTED
        return f"not connected to the MQTT broker{self._refusal}"

    def send(self, *, service: str, type: str, body: bytes) -> Outcome:
        return self.publish(topic(self.prefix, service, type), body)

    def publish(self, topic: str, body: bytes, *, retain: bool = False) -> Outcome:
        """Publish at QoS 1 and wait for the broker's acknowledgement."""
        if not self._client.is_connected():
            return Outcome(False, None, f"not connected to the MQTT broker{self._refusal}")
        try:
            info = self._client.publish(topic, body, qos=1, retain=retain)
            info.wait_for_publish(self._timeout)
        except (RuntimeError, ValueError) as error:
            return Outcome(False, None, str(error)[:500])
        if not info.is_published():
            return Outcome(
                False, None, f"the broker did not acknowledge ({mqtt.error_string(info.rc)})"
            )
        return Outcome(True)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
