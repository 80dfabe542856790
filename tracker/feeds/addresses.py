"""Where a fetch may connect: no redirect into private networks, and no second lookup.

A feed's server can send the fetcher anywhere with a redirect: to the loopback
address of the machine the bot runs on, to the office network, to the cloud's
metadata address (169.254.169.254). Such an address is refused unless the configured
URL's own host is that address (the operator chose it) or `[fetch]
allow_private_networks` is on, as Miniflux does.

Every hop's host is resolved here and each address checked; the connection is then
made to those very addresses (`PinnedBackend`), never to a second lookup that a DNS
answer with a short lifetime could change between the check and the connect ("DNS
rebinding"). TLS still verifies the host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Iterable

import httpcore


class AddressRefused(Exception):
    """The hop leads where the bot does not go; the message is the feed's error, in words."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_kind(address: str) -> str | None:
    """What kind of non-public address this is ('loopback', 'link-local', 'unspecified',
    'private', or 'non-public' for shared, reserved, documentation and multicast ranges),
    None for a public one. IPv4 carried in IPv6 (mapped, compatible, 6to4, NAT64) is
    judged as the IPv4 address it reaches."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of it
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif int(ip) >> 32 == 0 and int(ip) > 1:  # IPv4-compatible (::127.0.0.2)
            ip = ipaddress.IPv4Address(int(ip))
    for kind, test in (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified), ("link-local", ip.is_link_local), ("private", ip.is_private)):
        if test:
            return kind
    return None if ip.is_global and not ip.is_multicast else "non-public"


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` stands for (itself, when it is an address)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise AddressRefused(f"cannot resolve {host}: {error.strerror}") from None
    return list(dict.fromkeys(answer[4][0] for answer in answers))


@dataclass
class HopGuard:
    """The checks of one feed's fetch: its configured host is the one trusted with a
    private address (and the addresses that host stands for)."""

    configured_host: str
    allow_private: bool = False
    _trusted: set[str] | None = field(default=None, init=False)

    async def check(self, host: str, port: int) -> list[str]:
        """The addresses this hop may connect to; AddressRefused when any is off limits
        (a name with one private address among public ones is refused too: the
        connection could land on any of them)."""
        addresses = await resolve(host, port)
        if self.allow_private or host.lower() == self.configured_host.lower():
            return addresses
        for address in addresses:
            kind = address_kind(address)
            if kind and address not in await self._trusted_addresses(port):
                shown = host if host == address else f"{host} ({address})"
                raise AddressRefused(
                    f"refused to follow a redirect to {shown}: {'an' if kind[0] in 'aeiou' else 'a'} {kind} address, and the configured feed is not on it "
                    "([fetch] allow_private_networks = true allows it)"
                )
        return addresses

    async def _trusted_addresses(self, port: int) -> set[str]:
        if self._trusted is None:
            try:
                self._trusted = set(await resolve(self.configured_host, port))
            except AddressRefused:
                self._trusted = set()
        return self._trusted


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses checked for a host, never to a fresh lookup of it."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pins: dict[tuple[str, int], list[str]] = {}

    def pin(self, host: str, port: int, addresses: Iterable[str]) -> None:
        self._pins[(host.strip("[]").lower(), port)] = list(addresses)

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = self._pins.get((host.strip("[]").lower(), port))
        if not addresses:  # nothing checked this host: a bug, and nothing is connected
            raise httpcore.ConnectError(f"no checked address for {host}:{port}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as error:
                failure = error
        raise failure

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
