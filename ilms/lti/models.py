"""LTI 1.3: registered platforms, the tool's keys, launches, course and user links, grade return.

Everything a launch needs later is kept here, server-side; the browser only carries random
references (the ``state``, the launch reference in the session, a one-time resume token).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ilms.accounts.models import User
from ilms.cohorts.models import Assignment, Cohort
from ilms.db import TimestampMixin, str_enum, utcnow
from ilms.delivery.models import Attempt
from ilms.extensions import db

#: Length of identifiers chosen by platforms (LTI allows up to 255 characters).
LTI_ID = 255
URL = 2048


class LinkTarget(enum.StrEnum):
    """What a placed link opens: the whole module, or only its pre-test or post-test."""

    MODULE = "module"
    PRE = "pre"
    POST = "post"


class GradeStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting to be sent (first try, or a retry after a failure)
    SENDING = "sending"  #: claimed by one worker
    SENT = "sent"
    FAILED = "failed"  #: gave up after the last retry; faculty can retry by hand


class LtiPlatform(TimestampMixin, db.Model):
    """An LMS registered by an admin: its OpenID issuer and the client id it gave ILMS."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  #: shown to admins and faculty
    issuer: Mapped[str] = mapped_column(String(LTI_ID))
    client_id: Mapped[str] = mapped_column(String(LTI_ID))
    auth_login_url: Mapped[str] = mapped_column(String(URL))  #: the OIDC authorisation endpoint
    token_url: Mapped[str] = mapped_column(String(URL))  #: OAuth 2 token endpoint (services)
    #: ``aud`` of our client assertions when the platform wants another than its token URL.
    token_audience: Mapped[str | None] = mapped_column(String(URL))
    jwks_url: Mapped[str] = mapped_column(String(URL))
    #: Space-separated origins allowed to frame ILMS for this platform (its web addresses).
    frame_origins: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="LtiDeployment.id"
    )

    @property
    def deployment_ids(self) -> list[str]:
        return [d.deployment_id for d in self.deployments]


class LtiDeployment(TimestampMixin, db.Model):
    """A deployment of ILMS in the platform (a whole LMS, a sub-account or one course)."""

    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(LTI_ID))

    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiKey(TimestampMixin, db.Model):
    """One of the tool's RSA signing keys; the newest unretired one signs, the others verify."""

    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    #: The private key in PEM, encrypted with a key derived from SECRET_KEY (Fernet).
    private_key: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    retired_at: Mapped[datetime | None]  #: still published in the JWKS for a while after this

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class LtiLaunchState(db.Model):
    """An OIDC log-in in progress: the ``state`` and ``nonce`` sent to the platform, single use."""

    __tablename__ = "lti_launch_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: SHA-256 of ``state``
    platform_id: Mapped[int] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the browser-binding cookie set with the log-in redirect.
    browser_hash: Mapped[str] = mapped_column(String(64))
    target_link_uri: Mapped[str] = mapped_column(String(URL))
    #: The log-in request's parameters, to start again in a new window when cookies are blocked.
    login_params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]

    platform: Mapped[LtiPlatform] = relationship()


class LtiNonce(db.Model):
    """A nonce of an accepted id_token: the same id_token is never accepted twice."""

    __tablename__ = "lti_nonces"
    __table_args__ = (UniqueConstraint("platform_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(LTI_ID))
    expires_at: Mapped[datetime] = mapped_column(index=True)  #: kept until the token expired


class LtiContext(TimestampMixin, db.Model):
    """An LMS course (context) and the cohort it became."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(LTI_ID))
    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200), default="")
    #: Names and Role Provisioning Services: the course's membership URL, when offered.
    memberships_url: Mapped[str | None] = mapped_column(String(URL))
    roster_synced_at: Mapped[datetime | None]
    #: The last roster sync: counts, who is no longer in the LMS, or the error.
    roster_report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    platform: Mapped[LtiPlatform] = relationship()
    cohort: Mapped[Cohort] = relationship()


class LtiUser(TimestampMixin, db.Model):
    """An LMS account (issuer + subject) and the ILMS account it is."""

    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(LTI_ID))
    sub: Mapped[str] = mapped_column(String(LTI_ID))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()


class LtiResourceLink(TimestampMixin, db.Model):
    """A link placed in an LMS course, the assignment it opens and its gradebook column."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(LTI_ID))
    context_id: Mapped[int] = mapped_column(
        ForeignKey("lti_contexts.id", ondelete="CASCADE"), index=True
    )
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[LinkTarget] = mapped_column(str_enum(LinkTarget, "lti_link_target"))
    title: Mapped[str] = mapped_column(String(200), default="")
    #: Assignment and Grade Services: the line item of this link, and where line items live.
    lineitem_url: Mapped[str | None] = mapped_column(String(URL))
    lineitems_url: Mapped[str | None] = mapped_column(String(URL))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)

    platform: Mapped[LtiPlatform] = relationship()
    context: Mapped[LtiContext] = relationship()
    assignment: Mapped[Assignment] = relationship()

    @property
    def returns_grades(self) -> bool:
        return self.target != LinkTarget.PRE and bool(self.lineitem_url or self.lineitems_url)


class LtiLaunch(db.Model):
    """An accepted launch, kept server-side; the session holds only its ``ref``."""

    __tablename__ = "lti_launches"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  #: random, stored in the session
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(LTI_ID))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message_type: Mapped[str] = mapped_column(String(40))
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("lti_contexts.id", ondelete="CASCADE")
    )
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE")
    )
    #: Where the person lands after the launch (a path of ILMS).
    landing_path: Mapped[str] = mapped_column(String(URL))
    #: Deep Linking: the return URL and the opaque ``data`` to echo back.
    deep_linking: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: SHA-256 of the one-time token that opens this launch in a new window (blocked cookies).
    resume_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    resume_expires_at: Mapped[datetime]
    resumed_at: Mapped[datetime | None]

    platform: Mapped[LtiPlatform] = relationship()
    user: Mapped[User] = relationship()
    context: Mapped[LtiContext | None] = relationship()
    resource_link: Mapped[LtiResourceLink | None] = relationship()


class LtiGradeSubmission(TimestampMixin, db.Model):
    """A score to send to an LMS gradebook (an outbox row): one per link and attempt."""

    __tablename__ = "lti_grade_submissions"
    __table_args__ = (
        # A post-test submitted twice at once still sends one score.
        UniqueConstraint("resource_link_id", "attempt_id"),
        CheckConstraint("tries >= 0", name="tries_not_negative"),
        CheckConstraint("score_given >= 0 AND score_given <= score_maximum", name="score_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True
    )
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lti_sub: Mapped[str] = mapped_column(String(LTI_ID))  #: the ``userId`` the LMS knows
    score_given: Mapped[float]
    score_maximum: Mapped[float]
    grading_progress: Mapped[str] = mapped_column(String(20))  #: FullyGraded or PendingManual
    status: Mapped[GradeStatus] = mapped_column(
        str_enum(GradeStatus, "lti_grade_status"), default=GradeStatus.PENDING, index=True
    )
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    resource_link: Mapped[LtiResourceLink] = relationship()
    attempt: Mapped[Attempt] = relationship()
    user: Mapped[User] = relationship()
