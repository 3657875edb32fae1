"""Where webhooks may go: public addresses only, unless the allow-list says otherwise.

A webhook URL is checked when the request names it and again at every delivery, after
DNS resolution; the delivery then connects to the address that was checked (the URL's
host is kept for the Host header and TLS SNI), so a name that resolves differently the
second time (DNS rebinding) cannot reach an internal address. Refused: any scheme but
http and https, userinfo (`user:pass@`), loopback, private (RFC 1918, fc00::/7),
link-local (169.254/16, fe80::/10, cloud metadata), CGNAT (100.64/10), multicast,
unspecified, reserved and documentation ranges, their IPv4-mapped, 6to4, Teredo and
NAT64 IPv6 forms, and IPv4 written in decimal, octal, hex or short form ("2130706433",
"0177.0.0.1", "0x7f.1", "127.1"), which are read as the address they stand for.
`QUORUM_WEBHOOK_ALLOW` lists CIDRs (`10.0.0.0/8`, `127.0.0.1/32`, `::1/128`) and host
names (`hooks.internal`) that are allowed anyway.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> the addresses it resolves to, as text."""

RESOLVE_TIMEOUT_S = 3.0
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NUMERIC_HOST = re.compile(r"[0-9][0-9a-fA-FxX.]*")
"""What could be an IPv4 address in a form other than dotted decimal."""


class BlockedTarget(ValueError):
    """A webhook URL Quorum will not call; the message says why."""


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
    )
    return [str(info[4][0]) for info in infos]


def literal_ip(host: str) -> IP | None:
    """The address a URL host stands for when it is an IP literal in any form, else None
    (a name). Raises BlockedTarget for a numeric host that is no valid address."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        pass
    if not NUMERIC_HOST.fullmatch(host):
        return None
    try:  # inet_aton reads decimal, octal, hex and short forms, as browsers and curl do
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError as exc:
        raise BlockedTarget(f"host {host!r} is not a valid address") from exc


def _embedded(ip: IP) -> list[IP]:
    """The address itself and any IPv4 address an IPv6 one carries."""
    found: list[IP] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if inner is not None:
                found.append(inner)
        if ip in NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(ip: IP) -> bool:
    """Globally routable unicast, in every form the address takes."""
    return all(
        a.is_global and not (a.is_multicast or a.is_reserved or a.is_unspecified)
        for a in _embedded(ip)
    )


@dataclass(frozen=True)
class Target:
    """Where one delivery connects: the checked address, and the URL's own host."""

    url: str
    """The URL with its host replaced by the checked address."""
    host_header: str
    sni_hostname: str | None
    """For https: the name the certificate must match."""


class WebhookGuard:
    """Checks webhook URLs against the public-only rule and the allow-list."""

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self.networks, self.hosts = parse_allow(allow)
        self.resolver = resolver or system_resolver

    def _allowed(self, ip: IP) -> bool:
        return any(a in n for a in _embedded(ip) for n in self.networks if a.version == n.version)

    def _check_ip(self, ip: IP, host: str) -> None:
        if not (self._allowed(ip) or is_public(ip)):
            raise BlockedTarget(
                f"{host} is {ip}, not a public address (allow it in QUORUM_WEBHOOK_ALLOW)"
            )

    def parse(self, url: str) -> SplitResult:
        """The URL's parts, after the checks that need no DNS."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise BlockedTarget(f"not a valid URL: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise BlockedTarget("the scheme must be http or https")
        if "@" in parts.netloc:
            raise BlockedTarget("a webhook URL may not hold user:password@")
        if not parts.hostname:
            raise BlockedTarget("the URL has no host")
        if port == 0:
            raise BlockedTarget("port 0 is not a port")
        return parts

    async def addresses(self, url: str) -> tuple[SplitResult, list[IP]]:
        """The URL and the addresses it reaches, each checked; raises BlockedTarget."""
        parts = self.parse(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = literal_ip(host)
        if ip is not None:
            self._check_ip(ip, host)
            return parts, [ip]
        try:
            found = [
                ipaddress.ip_address(a.split("%", 1)[0]) for a in await self.resolver(host, port)
            ]
        except (OSError, TimeoutError, ValueError) as exc:
            raise BlockedTarget(f"host {host!r} does not resolve") from exc
        if not found:
            raise BlockedTarget(f"host {host!r} does not resolve")
        if host.lower().rstrip(".") not in self.hosts:
            for a in found:
                self._check_ip(a, host)
        return parts, found

    async def check(self, url: str) -> None:
        """At request time: raise BlockedTarget unless deliveries to `url` may be sent."""
        await self.addresses(url)

    async def target(self, url: str) -> Target:
        """At delivery time: the checked address to connect to for `url`."""
        parts, found = await self.addresses(url)
        ip = found[0]
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        netloc = f"{host}:{parts.port}" if parts.port else host
        pinned = parts._replace(netloc=netloc).geturl()
        original = parts.netloc
        sni = (
            parts.hostname
            if parts.scheme == "https" and literal_ip(parts.hostname or "") is None
            else None
        )
        return Target(url=pinned, host_header=original, sni_hostname=sni)


def parse_allow(entries: Iterable[str]) -> tuple[tuple[Network, ...], frozenset[str]]:
    """Split allow-list entries into networks (CIDRs or addresses) and host names."""
    networks: list[Network] = []
    hosts: set[str] = set()
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?", text):
                raise ValueError(f"{text!r} is neither a CIDR nor a host name") from None
            hosts.add(text.lower().rstrip("."))
    return tuple(networks), frozenset(hosts)
