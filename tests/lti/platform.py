"""A simulated LMS for the LTI tests: its own RSA keys and JWKS, a token endpoint, line items,
scores and a course roster, served by a small WSGI app on 127.0.0.1 that records what it gets.

One server hosts every simulated platform, each under its own path (``/p/<name>/...``), so that
tests never share a platform's keys, caches or records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = ROLE + "Learner"
INSTRUCTOR = ROLE + "Instructor"
TEACHING_ASSISTANT = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
)
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
_keys = itertools.count(1)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class SimPlatform:
    """One LMS: issuer, client id, deployment, keys, and what its endpoints received."""

    name: str
    base: str  #: this platform's address on the test server
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = field(default_factory=lambda: f"lms-key-{next(_keys)}")
    deployment_id: str = "deployment-1"
    jwks_delay: float = 0.0
    jwks_fetches: int = 0
    score_failures: int = 0  #: the next this many score posts answer HTTP 500
    members: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    received: list[Recorded] = field(default_factory=list)
    lineitems: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    extra_keys: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        return f"https://lms-{self.name}.example.edu"

    @property
    def client_id(self) -> str:
        return f"ilms-client-{self.name}"

    @property
    def auth_login_url(self) -> str:
        return f"{self.base}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/jwks"

    @property
    def lineitems_url(self) -> str:
        return f"{self.base}/courses/course-1/lineitems"

    @property
    def memberships_url(self) -> str:
        return f"{self.base}/courses/course-1/memberships"

    def lineitem_url(self, number: int = 1) -> str:
        return f"{self.lineitems_url}/{number}"

    # --- What the platform signs -------------------------------------------------------

    def claims(
        self,
        nonce: str,
        *,
        sub: str = "student-1",
        roles: list[str] | None = None,
        message_type: str = "LtiResourceLinkRequest",
        link_id: str = "link-1",
        custom: dict[str, str] | None = None,
        target: str = "http://localhost/lti/launch",
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": f"Person {sub}",
            "email": f"{sub}@{self.name}.example.edu",
            CLAIM + "message_type": message_type,
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": target,
            CLAIM + "roles": roles if roles is not None else [LEARNER],
            CLAIM + "context": {"id": "course-1", "label": "IL101", "title": "Research skills"},
            CLAIM + "launch_presentation": {"locale": "en-US"},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": self.memberships_url,
                "service_versions": ["2.0"],
            },
        }
        if message_type == "LtiResourceLinkRequest":
            payload[CLAIM + "resource_link"] = {"id": link_id, "title": "Searching module"}
            payload[CLAIM + "custom"] = custom or {}
            payload["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                ],
                "lineitems": self.lineitems_url,
                "lineitem": self.lineitem_url(),
            }
        else:
            payload["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.base}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False,
                "data": "opaque-platform-data",
            }
        payload.update(extra)
        return {k: v for k, v in payload.items() if v is not None}

    def sign(self, payload: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(payload, self.private_pem, algorithm="RS256", headers=headers)

    @property
    def private_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def unsigned(self, payload: dict[str, Any]) -> str:
        """An ``alg: none`` token."""
        header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": self.kid}).encode())
        return f"{header}.{b64(json.dumps(payload).encode())}."

    def hs256_with_public_key(self, payload: dict[str, Any]) -> str:
        """The algorithm-confusion attack: HS256 'signed' with the platform's public key."""
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.kid}).encode())
        signing_input = f"{header}.{b64(json.dumps(payload).encode())}"
        signature = hmac.new(self.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(signature)}"

    # --- Endpoints ---------------------------------------------------------------------

    def handle(self, request: Request, path: str) -> Response:
        body = request.get_data()
        with self.lock:
            self.received.append(
                Recorded(
                    request.method,
                    path,
                    request.query_string.decode(),
                    dict(request.headers),
                    body,
                )
            )
        if path == "/jwks":
            return self._jwks()
        if path == "/token" and request.method == "POST":
            return self._token(request)
        if not self._authorised(request):
            return Response("no valid bearer token", status=401)
        if path.startswith("/courses/course-1/lineitems"):
            return self._lineitems(request, path.removeprefix("/courses/course-1/lineitems"))
        if path == "/courses/course-1/memberships":
            return self._memberships(request)
        return Response("not found", status=404)

    def _jwks(self) -> Response:
        with self.lock:
            self.jwks_fetches += 1
        if self.jwks_delay:
            time.sleep(self.jwks_delay)
        keys = [public_jwk(self.key, self.kid), *self.extra_keys]
        return Response(json.dumps({"keys": keys}), content_type="application/json")

    def _token(self, request: Request) -> Response:
        form = request.form
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            or not form.get("client_assertion")
        ):
            return Response(json.dumps({"error": "invalid_request"}), status=400)
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.tokens.add(token)
        document = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": form.get("scope", ""),
        }
        return Response(json.dumps(document), content_type="application/json")

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.tokens

    def _lineitems(self, request: Request, rest: str) -> Response:
        if rest == "" and request.method == "GET":
            wanted = request.args.get("resource_link_id")
            found = [i for i in self.lineitems.values() if i.get("resourceLinkId") == wanted]
            return Response(json.dumps(found), content_type="application/json")
        if rest == "" and request.method == "POST":
            item = json.loads(request.get_data())
            with self.lock:
                item["id"] = self.lineitem_url(len(self.lineitems) + 2)
                self.lineitems[item["id"]] = item
            return Response(json.dumps(item), status=201, content_type="application/json")
        if rest.endswith("/scores") and request.method == "POST":
            with self.lock:
                if self.score_failures > 0:
                    self.score_failures -= 1
                    return Response("gradebook unavailable", status=500)
            return Response(status=204)
        return Response("not found", status=404)

    def _memberships(self, request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        start = (page - 1) * self.page_size
        members = self.members[start : start + self.page_size]
        response = Response(
            json.dumps({"id": self.memberships_url, "members": members}),
            content_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
        )
        if start + self.page_size < len(self.members):
            response.headers["Link"] = f'<{self.memberships_url}?page={page + 1}>; rel="next"'
        return response

    # --- What the tests read -----------------------------------------------------------

    def requests_to(self, suffix: str, method: str = "POST") -> list[Recorded]:
        with self.lock:
            return [r for r in self.received if r.path.endswith(suffix) and r.method == method]

    @property
    def scores(self) -> list[dict[str, Any]]:
        return [r.json for r in self.requests_to("/scores")]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class LmsServer:
    """The WSGI server every simulated platform answers on."""

    def __init__(self) -> None:
        self.platforms: dict[str, SimPlatform] = {}
        self.server = make_server(
            "127.0.0.1", 0, self.wsgi, threaded=True, request_handler=QuietHandler
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def new_platform(self, name: str) -> SimPlatform:
        platform = SimPlatform(name=name, base=f"{self.url}/p/{name}")
        self.platforms[name] = platform
        return platform

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        _, prefix, name, *rest = [*request.path.split("/", 3), ""]
        platform = self.platforms.get(name) if prefix == "p" else None
        if platform is None:
            response = Response("no such platform", status=404)
        else:
            response = platform.handle(request, "/" + (rest[0] if rest else ""))
        return response(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
