"""The client's address: the connection's peer, or what a trusted reverse proxy says it is."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.datastructures import Headers

Networks = Sequence[IPv4Network | IPv6Network]


def client_address(peer: str | None, headers: Headers, trusted: Networks) -> str | None:
    """The address throttling and the audit trail count a request against.

    Forwarding headers are anyone's to write, so they are read only when the peer is a trusted
    proxy, and then from the right: each hop a trusted proxy appended names the one before it,
    and the first address that is not a trusted proxy is the client (a client that sends its
    own `X-Forwarded-For` only adds hops on the left, which are never reached). `Forwarded`
    (RFC 7239) is read when present, else `X-Forwarded-For`."""
    if peer is None or not _trusted(peer, trusted):
        return peer
    address = peer
    for hop in reversed(_hops(headers)):
        if not _trusted(address, trusted):
            break
        parsed = _parse(hop)
        if parsed is None:  # a hop that is no address ("unknown", an obfuscated name)
            break
        address = parsed
    return address


def from_trusted_proxy(peer: str | None, trusted: Networks) -> bool:
    """Whether the connection comes from a trusted proxy: only then are the headers it sets
    on the client's behalf (forwarding, scheme, signed-in user) believed."""
    return peer is not None and _trusted(peer, trusted)


def forwarded_proto(peer: str | None, headers: Headers, trusted: Networks) -> str | None:
    """The scheme the client used (`https` behind a TLS proxy), as the trusted peer says it:
    the last `proto` of `Forwarded`, else the last value of `X-Forwarded-Proto`; None when the
    peer is not trusted or says nothing."""
    if not from_trusted_proxy(peer, trusted):
        return None
    forwarded = headers.getlist("forwarded")
    if forwarded:
        protos = [value for name, value in _pairs(forwarded) if name == "proto"]
    else:
        protos = [p for line in headers.getlist("x-forwarded-proto") for p in line.split(",")]
    protos = [p.strip().strip('"').lower() for p in protos if p.strip()]
    return protos[-1] if protos else None


def _trusted(address: str, trusted: Networks) -> bool:
    parsed = _ip(address)
    return parsed is not None and any(parsed in network for network in trusted)


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _parse(hop: str) -> str | None:
    """An address of a header's hop, without quotes, brackets or port."""
    hop = hop.strip().strip('"')
    if hop.startswith("["):  # "[2001:db8::1]:4711"
        hop = hop[1:].partition("]")[0]
    elif hop.count(":") == 1:  # "192.0.2.60:4711"
        hop = hop.partition(":")[0]
    parsed = _ip(hop)
    return str(parsed) if parsed is not None else None


def _hops(headers: Headers) -> list[str]:
    forwarded = headers.getlist("forwarded")
    if forwarded:
        return [value for name, value in _pairs(forwarded) if name == "for"]
    return [hop for line in headers.getlist("x-forwarded-for") for hop in line.split(",")]


def _pairs(forwarded: list[str]) -> list[tuple[str, str]]:
    """`Forwarded` (RFC 7239) lines as (lower-cased name, value) pairs, in order."""
    pairs = []
    for element in ",".join(forwarded).split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            pairs.append((name.lower(), value))
    return pairs
