"""Rate limits on the public forms, counted per client address in the Django cache.

The cache is Redis in production (CACHE_URL), so every gunicorn process shares the counts.
A fixed window per scope: at most N POSTs per client address per window; more get HTTP 429
with a Swedish page. If the cache itself is down the request is let through (a company's
question matters more than the limit) and a warning is logged.

Settings (see the end of settings.py):
    RATELIMIT_ENABLED    on/off switch (the load test and the fuzz test turn it off or up)
    RATELIMITS           {scope: "N/period"}, period "30s", "10m", "1h", "1d" or seconds
    TRUSTED_PROXY_COUNT  0: the client is REMOTE_ADDR. n > 0: the client is the address the
                         outermost of n trusted proxies saw, i.e. the n-th entry from the right
                         of X-Forwarded-For (with one proxy that is its last, and usually only,
                         hop; entries a client wrote itself further left are ignored).
"""

import functools
import hashlib
import ipaddress
import logging
import re
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.shortcuts import render

from foretagslots.cache_ops import redis_client

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_RATE = "10/h"


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/h" -> (10, 3600); "5/15m" -> (5, 900); "100/60" -> (100, 60)."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"Bad rate {rate!r}; use e.g. 10/h, 5/15m or 100/60")
    count, amount, unit = match.groups()
    if not amount and not unit:
        raise ValueError(f"Bad rate {rate!r}; the period is missing")
    period = int(amount or 1) * _UNIT_SECONDS[unit]
    if period <= 0:
        raise ValueError(f"Bad rate {rate!r}; the period must be positive")
    return int(count), period


def rate_for(scope: str) -> tuple[int, int]:
    rates = settings.RATELIMITS
    return parse_rate(rates.get(scope, DEFAULT_RATE))


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or with trusted proxies in front, the address the
    outermost trusted proxy recorded in X-Forwarded-For. Never trusts what a client wrote."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < proxies:
        return remote
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _key(scope: str, address: str, window: int) -> str:
    digest = hashlib.sha256(f"{scope}|{address}".encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{window}:{digest}"


def _count(key: str, timeout: int) -> int:
    """Add one to the counter at `key`, which starts at 0 and lives `timeout` seconds. On Redis
    one round trip (SET NX with the timeout and INCR, in one MULTI); on other caches add+incr."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        # Django's RedisCache has no atomic "increment or create"; its client is internal API.
        with redis_client(backend).pipeline(transaction=True) as pipe:
            pipe.set(full_key, 0, ex=timeout, nx=True)
            pipe.incr(full_key)
            return pipe.execute()[1]
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def hit(scope: str, address: str) -> tuple[bool, int]:
    """Count one request; (allowed, seconds until the window ends)."""
    limit, period = rate_for(scope)
    now = int(time.time())
    window = now // period
    retry_after = period - (now % period)
    try:
        count = _count(_key(scope, address, window), timeout=period + 1)
    except Exception:  # the cache is down: let the request through
        logger.warning("Rate-limit cache unavailable; %s not counted", scope)
        return True, 0
    return count <= limit, retry_after


def exceeded(scope: str, address: str) -> tuple[bool, int]:
    """Whether `address` has used up its RATELIMITS[scope] in this window, without counting
    a request; (exceeded, seconds until the window ends)."""
    limit, period = rate_for(scope)
    now = int(time.time())
    try:
        count = cache.get(_key(scope, address, now // period)) or 0
    except Exception:  # the cache is down: let the request through
        return False, 0
    return count >= limit, period - (now % period)


def too_many_requests(request, retry_after: int):
    minutes = max(1, (retry_after + 59) // 60)
    response = render(request, "429.html", {"retry_minutes": minutes}, status=429)
    response["Retry-After"] = str(max(1, retry_after))
    return response


def ratelimit(scope: str, methods: tuple[str, ...] = ("POST",)):
    """Decorate a view: at most RATELIMITS[scope] requests with `methods` per client address
    per window; beyond that HTTP 429 with a Swedish page."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if settings.RATELIMIT_ENABLED and request.method in methods:
                allowed, retry_after = hit(scope, client_address(request))
                if not allowed:
                    return too_many_requests(request, retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
