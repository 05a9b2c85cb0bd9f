"""Fixtures for the LTI tests: the simulated LMS, a registered platform, and a browser that goes
through the OIDC log-in and the launch like a real one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ilms.accounts.models import LoginSession, User
from ilms.authoring.models import Module
from ilms.extensions import db
from ilms.lti import platforms
from ilms.lti.models import LtiPlatform
from tests.conftest import unique
from tests.delivery.conftest import (  # noqa: F401  (fixtures: a published module, cohorts)
    enrol,
    make_assignment,
    test_module_id,
)
from tests.lti.platform import INSTRUCTOR, LmsServer, SimPlatform

LAUNCH_URL = "http://localhost/lti/launch"


@pytest.fixture(scope="session")
def lms() -> Iterator[LmsServer]:
    server = LmsServer()
    yield server
    server.stop()


def register(app: Flask, sim: SimPlatform, deployments: tuple[str, ...] | None = None) -> int:
    with app.app_context():
        platform = platforms.add_platform(
            platforms.PlatformDetails(
                name=f"LMS {sim.name}",
                issuer=sim.issuer,
                client_id=sim.client_id,
                auth_login_url=sim.auth_login_url,
                token_url=sim.token_url,
                jwks_url=sim.jwks_url,
            ),
            list(deployments if deployments is not None else (sim.deployment_id,)),
            actor=None,
        )
        db.session.commit()
        return platform.id


@pytest.fixture
def platform(app: Flask, lms: LmsServer) -> SimPlatform:
    """A simulated LMS registered in ILMS with one deployment."""
    sim = lms.new_platform(unique("p").replace("_", "-").lower())
    register(app, sim)
    return sim


@pytest.fixture
def module_slug(app: Flask, test_module_id: int) -> str:  # noqa: F811
    with app.app_context():
        return db.session.get(Module, test_module_id).slug


@dataclass
class Login:
    state: str
    nonce: str
    params: dict[str, str]


class LtiBrowser:
    """A browser in the LMS: starts the OIDC log-in, then posts what the platform signed."""

    def __init__(self, client: FlaskClient, sim: SimPlatform) -> None:
        self.client = client
        self.sim = sim

    def start(self, **params: str) -> Login:
        data = {
            "iss": self.sim.issuer,
            "login_hint": "hint-1",
            "target_link_uri": LAUNCH_URL,
            "client_id": self.sim.client_id,
            "lti_deployment_id": self.sim.deployment_id,
            **params,
        }
        response = self.client.post("/lti/login", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        location = urlsplit(response.headers["Location"])
        query = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.sim.auth_login_url
        return Login(state=query["state"], nonce=query["nonce"], params=query)

    def post(self, id_token: str, state: str) -> Any:
        return self.client.post("/lti/launch", data={"id_token": id_token, "state": state})

    def launch(self, **claims: Any) -> Any:
        """A complete, valid launch with these claims; returns the launch response."""
        login = self.start()
        return self.post(self.sim.sign(self.sim.claims(login.nonce, **claims)), login.state)

    def land(self, **claims: Any) -> str:
        """Launch and follow to the landing page; returns its path."""
        response = self.launch(**claims)
        assert response.status_code == 303, response.get_data(as_text=True)[:800]
        landing = self.client.get(response.headers["Location"])
        assert landing.status_code == 302, landing.get_data(as_text=True)[:800]
        return landing.headers["Location"]


@pytest.fixture
def lti_browser(app: Flask, platform: SimPlatform) -> Callable[..., LtiBrowser]:
    def make(sim: SimPlatform | None = None) -> LtiBrowser:
        return LtiBrowser(app.test_client(), sim or platform)

    return make


@dataclass
class Course:
    cohort_id: int
    instructor: LtiBrowser  #: logged in through the launch that connected the course


@pytest.fixture
def placed_course(
    lti_browser: Callable[..., LtiBrowser], module_slug: str, platform: SimPlatform
) -> Course:
    """An instructor opened a link placing the test module (post-test graded) in the course."""
    browser = lti_browser()
    path = browser.land(
        sub="instructor-1",
        roles=[INSTRUCTOR],
        custom={"ilms_module": module_slug, "ilms_target": "module"},
    )
    assert path.startswith("/cohorts/")
    return Course(cohort_id=int(path.rsplit("/", 1)[1]), instructor=browser)


def counts(app: Flask) -> tuple[int, int]:
    """Log-in sessions and accounts in the database."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(LoginSession)),
            db.session.scalar(select(func.count()).select_from(User)),
        )


def platform_row(app: Flask, sim: SimPlatform) -> LtiPlatform:
    with app.app_context():
        row = db.session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == sim.issuer))
        db.session.expunge(row)
        return row
