"""Which addresses a server may reach on a user's behalf (no SSRF): one policy for image URLs and HTTP tools.

A host is resolved once, every address is checked (private, loopback, link-local, CGNAT, NAT64, IPv4 inside
IPv6 …), and the request goes to a checked address with the host name in the Host header and TLS SNI, so a
DNS answer cannot change between the check and the connection. Callers re-check each redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from andon.messages import t

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def address_problem(ip: IPAddress) -> str | None:
    """Why a server must not fetch from ``ip`` (e.g. "loopback"), or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            problem = address_problem(embedded)
            return None if problem is None else f"{problem} (an IPv4 address inside IPv6)"
        if ip in _LOCAL_NAT64:
            return "private"
        if ip.is_site_local:
            return "site-local"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("carrier-grade NAT", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if ip.is_global else "not public"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002:AABB:CCDD::) and NAT64 (64:ff9b::a.b.c.d) reach an IPv4 host.
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR texts (an allow-list) as networks; a bare address is a one-address network."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def refused(addresses: Iterable[IPAddress], allowed: Iterable[IPNetwork] = ()) -> tuple[IPAddress, str] | None:
    """The first address outside the policy and the allow-list, with its problem; None when all may be reached.

    Any bad answer refuses the host: a name that also resolves inward is not trusted.
    """
    allowed = tuple(allowed)
    for address in addresses:
        problem = address_problem(address)
        if problem is not None and not any(address in network for network in allowed):
            return address, problem
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` names (itself when it is a literal), in resolver order, without repeats.

    Raises ``OSError`` (or ``UnicodeError`` for a bad name) when it does not resolve; the list is never empty.
    """
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OSError(t("house3.fetch.no_address", host=host))
    return addresses


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    address: IPAddress,
    *,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Request:
    """A request for ``url`` sent to the checked ``address``; the name travels in Host and TLS SNI (and is verified)."""
    host = url.host
    default_port = 443 if url.scheme == "https" else 80
    port = url.port or default_port
    host_header = host if port == default_port else f"{_bracketed(host)}:{port}"
    return client.build_request(
        method,
        url.copy_with(host=str(address)),
        headers={**(headers or {}), "Host": host_header},
        extensions={"sni_hostname": host} if url.scheme == "https" else {},
        **kwargs,
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
