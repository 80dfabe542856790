"""Fetching feeds over HTTP: polite, bounded, and never trusting the server.

httpx, chosen for per-operation timeouts and an async client. The body is read raw
and inflated here, a bounded piece at a time, so the cap counts decompressed bytes
and a gzip bomb stops at the cap without ever being held whole. Redirects are followed
by hand so each hop can be counted, vetted (http(s) only, no private network:
tracker.feeds.addresses) and a permanent move reported.

Each feed has a client of its own: a connection checked for one feed's hop is never
reused by another feed whose hop would not pass the same check.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import hashlib
import ssl
import time
import urllib.request
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from tracker import __version__
from tracker.feeds.addresses import AddressRefused, HopGuard, PinnedBackend
from tracker.model import FeedSource, FetchResult

_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class FetchPolicy:
    """How to fetch: limits and manners. Built from config by the composition root."""

    timeout_seconds: float = 20.0
    deadline_seconds: float = 60.0
    max_body_bytes: int = 15 * 1024 * 1024
    concurrency: int = 16
    per_host: int = 2
    max_redirects: int = 5
    contact_url: str = "https://github.com/example/tracker"
    allow_private_networks: bool = False

    @property
    def user_agent(self) -> str:
        return f"Mozilla/5.0 (compatible; tracker/{__version__}; +{self.contact_url})"


class _FetchFailed(Exception):
    """A fetch that ended without a usable answer; the message is the feed's recorded error."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification, built once per process: loading the CA bundle costs
    ~5 ms, and a client is made per batch of feeds."""
    return httpx.create_ssl_context()


def fetch_feeds(feeds: Iterable[FeedSource], policy: FetchPolicy) -> list[FetchResult]:
    """Fetch every feed concurrently; one result per feed, in the order given."""
    return asyncio.run(fetch_feeds_async(list(feeds), policy))


async def fetch_feeds_async(feeds: list[FeedSource], policy: FetchPolicy) -> list[FetchResult]:
    everyone = asyncio.Semaphore(policy.concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    proxied = any(scheme in urllib.request.getproxies() for scheme in ("http", "https", "all"))

    async def one(feed: FeedSource) -> FetchResult:
        host = urlsplit(feed.url).netloc.lower()
        host_slot = per_host.setdefault(host, asyncio.Semaphore(policy.per_host))
        async with everyone, host_slot:
            backend = PinnedBackend()
            # Through a proxy ($HTTPS_PROXY…) the proxy connects: every hop's name is still
            # checked here, but the connection cannot be pinned to the addresses checked.
            transport = None if proxied else _PinnedTransport(backend)
            async with httpx.AsyncClient(timeout=httpx.Timeout(policy.timeout_seconds), follow_redirects=False, transport=transport, verify=tls_context()) as client:
                return await fetch_one(client, feed, policy, backend)

    return list(await asyncio.gather(*(one(feed) for feed in feeds)))


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through `backend` (the addresses each hop was checked
    for): httpx has no parameter for httpcore's network backend, so the pool is made here."""

    def __init__(self, backend: PinnedBackend) -> None:
        super().__init__(verify=tls_context())
        # One feed's hops: a few connections at most (each redirect to another host).
        self._pool = httpcore.AsyncConnectionPool(ssl_context=tls_context(), max_connections=4, network_backend=backend)


async def fetch_one(client: httpx.AsyncClient, feed: FeedSource, policy: FetchPolicy, backend: PinnedBackend) -> FetchResult:
    """Fetch one feed within its total deadline; every failure becomes a FetchResult with an error."""
    started = time.monotonic()
    try:
        return await asyncio.wait_for(_fetch(client, feed, policy, backend, started), policy.deadline_seconds)
    except asyncio.TimeoutError:
        error = f"no complete answer within the {policy.deadline_seconds:g} s deadline"
    except (_FetchFailed, AddressRefused) as failure:
        error = str(failure)
    except httpx.TimeoutException as failure:
        error = f"timed out ({type(failure).__name__})"
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
    return FetchResult(feed=feed, status=None, error=error, elapsed_seconds=time.monotonic() - started)


async def _fetch(client: httpx.AsyncClient, feed: FeedSource, policy: FetchPolicy, backend: PinnedBackend, started: float) -> FetchResult:
    url = feed.url
    visited = {url}
    permanent = True
    guard = HopGuard(httpx.URL(feed.configured_url or feed.url).raw_host.decode("ascii"), allow_private=policy.allow_private_networks)
    for _hop in range(policy.max_redirects + 1):
        _require_http(url)
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")  # as the connection names it: an IDN in punycode
        port = target.port or (443 if target.scheme == "https" else 80)
        backend.pin(host, port, await guard.check(host, port))
        request = client.build_request("GET", url, headers=_request_headers(feed, policy, url))
        response = await client.send(request, stream=True)
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                permanent = permanent and response.status_code in _PERMANENT
                url = urljoin(url, response.headers["location"])
                if url in visited:
                    raise _FetchFailed(f"redirect loop at {url}")
                visited.add(url)
                continue
            return await _finish(response, feed, policy, url, url != feed.url and permanent, started)
        finally:
            await response.aclose()
    raise _FetchFailed(f"more than {policy.max_redirects} redirects")


async def _finish(
    response: httpx.Response,
    feed: FeedSource,
    policy: FetchPolicy,
    url: str,
    moved: bool,
    started: float,
) -> FetchResult:
    headers = {key.lower(): value for key, value in response.headers.items()}
    common = dict(
        feed=feed,
        status=response.status_code,
        headers=headers,
        final_url=url,
        moved_permanently_to=url if moved else None,
        retry_after_seconds=parse_retry_after(headers.get("retry-after")),
    )
    if response.status_code == 304:
        return FetchResult(**common, elapsed_seconds=time.monotonic() - started)
    if response.status_code >= 400:
        return FetchResult(
            **common,
            error=f"HTTP {response.status_code} {response.reason_phrase}".strip(),
            elapsed_seconds=time.monotonic() - started,
        )
    body = await _read_capped(response, policy.max_body_bytes)
    return FetchResult(**common, body=body, body_hash=body_hash(body), elapsed_seconds=time.monotonic() - started)


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    """The body, never more than `cap` bytes after decompression, never more in memory.

    Decompression is done here rather than by httpx, which inflates each network
    read whole: one read of a gzip bomb can be hundreds of megabytes.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    declared = response.headers.get("content-length")
    if encoding == "identity" and declared and declared.isdigit() and int(declared) > cap:
        raise _FetchFailed(f"body of {int(declared)} bytes exceeds the {cap}-byte cap")
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise _FetchFailed(f"unsupported content-encoding {encoding!r} (only gzip and deflate are asked for)")
    body = bytearray()
    inflater = zlib.decompressobj(32 + zlib.MAX_WBITS) if encoding != "identity" else None
    async for raw in response.aiter_raw(65536):
        if inflater is None:
            body += raw
        else:
            inflater = _inflate_into(body, inflater, raw, cap)
        if len(body) > cap:
            raise _FetchFailed(f"body exceeds the {cap}-byte cap (after decompression)")
    if inflater is not None and not inflater.eof:
        body += inflater.flush()
    if len(body) > cap:
        raise _FetchFailed(f"body exceeds the {cap}-byte cap (after decompression)")
    return bytes(body)


def _inflate_into(body: bytearray, inflater, data: bytes, cap: int):
    """Inflate `data` into `body`, at most up to the cap; returns the inflater to go on with.

    "deflate" is sometimes sent raw, without its zlib header: the first failure
    switches to a raw inflater.
    """
    while data and not inflater.eof:
        try:
            body += inflater.decompress(data, cap + 1 - len(body))
        except zlib.error:
            if body:
                raise _FetchFailed("corrupt compressed body") from None
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                body += inflater.decompress(data, cap + 1 - len(body))
            except zlib.error:
                raise _FetchFailed("corrupt compressed body") from None
        if len(body) > cap:
            break
        data = inflater.unconsumed_tail
    return inflater


def _request_headers(feed: FeedSource, policy: FetchPolicy, url: str) -> dict[str, str]:
    headers = {
        "User-Agent": policy.user_agent,
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        "Accept-Encoding": "gzip, deflate",
    }
    # Validators belong to the URL they came from; after a redirect they may not apply.
    if url == feed.url:
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
    return headers


def _require_http(url: str) -> None:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise _FetchFailed(f"refusing to fetch {url!r}: only http and https URLs are fetched")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
