"""Platforms' public keys: fetched from their JWKS URL with a timeout, cached, refetched once.

A key id the cache does not know makes one fresh fetch (the platform may have rotated its keys);
a key still unknown after it is refused. The cache lives in the process, per JWKS URL.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from flask import current_app
from flask_babel import gettext as _
from jwt.algorithms import RSAAlgorithm

from ilms.lti import outbound


@dataclass(frozen=True)
class CachedKeys:
    keys: dict[str, dict[str, Any]]  #: kid -> JWK
    fetched_at: float


_cache: dict[str, CachedKeys] = {}
_lock = threading.Lock()


def fetch(url: str) -> CachedKeys:
    """Read the JWKS at ``url`` now and cache it."""
    reply = outbound.call("GET", url, headers={"Accept": "application/json"})
    if not reply.ok:
        raise outbound.ServiceError(
            _(
                "The platform's JWKS URL %(url)s answered HTTP %(status)d.",
                url=url,
                status=reply.status,
            )
        )
    document = reply.json()
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise outbound.ServiceError(
            _("The platform's JWKS URL %(url)s did not answer with a key set.", url=url)
        )
    keys = {k["kid"]: k for k in entries if isinstance(k, dict) and isinstance(k.get("kid"), str)}
    cached = CachedKeys(keys=keys, fetched_at=time.monotonic())
    with _lock:
        _cache[url] = cached
    return cached


def _fresh(url: str) -> CachedKeys | None:
    with _lock:
        cached = _cache.get(url)
    max_age = float(current_app.config["LTI_JWKS_CACHE_SECONDS"])
    if cached is None or time.monotonic() - cached.fetched_at > max_age:
        return None
    return cached


def find_jwk(url: str, kid: str) -> dict[str, Any] | None:
    """The JWK ``kid`` of the key set at ``url``: from the cache, else after one fetch."""
    cached = _fresh(url)
    if cached is not None and kid in cached.keys:
        return cached.keys[kid]
    return fetch(url).keys.get(kid)


def rsa_public_key(jwk: dict[str, Any]) -> RSAPublicKey | None:
    """The RSA public key of a JWK meant for RS256 signatures; None for any other kind."""
    if jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256":
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    try:
        key = RSAAlgorithm.from_jwk(json.dumps(jwk))
    except (ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, RSAPublicKey) else None


def forget(url: str | None = None) -> None:
    """Empty the cache (for one URL), e.g. after an admin changed a platform's JWKS URL."""
    with _lock:
        if url is None:
            _cache.clear()
        else:
            _cache.pop(url, None)
