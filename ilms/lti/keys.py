"""The tool's own RSA keys: made, encrypted at rest, rotated, published as a JWKS, used to sign.

Private keys are stored encrypted (Fernet) with a key derived from SECRET_KEY by HKDF, so a copy
of the database alone cannot sign as ILMS. A rotation makes a new key that signs from then on and
keeps the previous one in the JWKS for ``LTI_KEY_OVERLAP_DAYS``, for platforms that cached it.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import delete, or_, select

from ilms.db import utcnow
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.lti.models import LtiKey

KEY_BITS = 2048


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ilms-lti", info=b"tool private keys"
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(derived))


def create_key() -> LtiKey:
    """A new signing key; it becomes the active one."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    kid = f"ilms-{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
    public: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    key = LtiKey(kid=kid, private_key=_fernet().encrypt(pem).decode(), public_jwk=public)
    db.session.add(key)
    db.session.flush()
    return key


def active_key() -> LtiKey | None:
    return db.session.scalar(
        select(LtiKey)
        .where(LtiKey.retired_at.is_(None))
        .order_by(LtiKey.created_at.desc(), LtiKey.id.desc())
        .limit(1)
    )


def signing_key() -> LtiKey:
    """The key that signs now, made on first use."""
    return active_key() or create_key()


def rotate_key() -> tuple[LtiKey, list[str]]:
    """Make a new active key, retire the others, forget keys retired long ago.

    Returns the new key and the kids that stopped being published.
    """
    now = utcnow()
    overlap = timedelta(days=current_app.config["LTI_KEY_OVERLAP_DAYS"])
    for key in db.session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None))):
        key.retired_at = now
    expired = list(db.session.scalars(select(LtiKey.kid).where(LtiKey.retired_at < now - overlap)))
    db.session.execute(delete(LtiKey).where(LtiKey.kid.in_(expired)))
    return create_key(), expired


def published_keys() -> list[LtiKey]:
    overlap = timedelta(days=current_app.config["LTI_KEY_OVERLAP_DAYS"])
    return list(
        db.session.scalars(
            select(LtiKey)
            .where(or_(LtiKey.retired_at.is_(None), LtiKey.retired_at >= utcnow() - overlap))
            .order_by(LtiKey.created_at.desc(), LtiKey.id.desc())
        )
    )


def jwks() -> dict[str, list[dict[str, Any]]]:
    """The public JWKS served at /lti/jwks."""
    return {"keys": [key.public_jwk for key in published_keys()]}


def _private_pem(key: LtiKey) -> bytes:
    try:
        return _fernet().decrypt(key.private_key.encode())
    except InvalidToken as error:
        raise DomainError(
            _(
                "The tool's signing key cannot be read: the secret key changed since it was made. "
                "Make a new one with `flask ilms lti rotate-key`."
            )
        ) from error


def sign(claims: dict[str, Any]) -> str:
    """``claims`` as a JWT signed with RS256 by the active key, its kid in the header."""
    key = signing_key()
    return jwt.encode(claims, _private_pem(key), algorithm="RS256", headers={"kid": key.kid})
