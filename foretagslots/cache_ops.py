"""The cache calls a public submission makes, without the cost Django adds to each on Redis.

Django's RedisCache builds a new redis-py client for every call (~0.2 ms of CPU: the client's
table of response callbacks is rebuilt each time). `add` and `redis_client` use one client
per process and cache (the connection pool is Django's, as before); other caches get the
ordinary cache API. What is stored is what `cache.add` would store.
"""

import weakref

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache

_clients: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def redis_client(backend: RedisCache):
    """A redis-py client for writes to `backend`, made once (Django's client is internal)."""
    cache_client = backend._cache
    client = _clients.get(cache_client)
    if client is None:
        client = _clients[cache_client] = cache_client.get_client(write=True)
    return client


def add(key: str, value: int, timeout: int) -> bool:
    """`cache.add(key, value, timeout)` for an integer value and a positive timeout."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache) or type(value) is not int or timeout <= 0:
        return backend.add(key, value, timeout)
    full_key = backend.make_and_validate_key(key)
    # An int is stored as itself by Django's RedisSerializer, so cache.get reads it back.
    return bool(redis_client(backend).set(full_key, value, ex=timeout, nx=True))
