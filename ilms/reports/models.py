"""Report snapshots (the latest computed report of an assignment, or of a module across cohorts)
and the report PDFs rendered from them in the background."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ilms.db import str_enum, utcnow
from ilms.extensions import db


class ReportSnapshot(db.Model):
    """The latest report document of a scope, kept so that opening a dashboard never waits.

    An assignment's snapshot counts the attempts finished since (``revision``); a module's
    snapshot pools the assignments in ``sources`` and is out of date when the sum of their
    revisions moved on from ``computed_revision``.
    """

    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``assignment:<id>`` or ``module:<module id>:<term>:<digest of the pooled assignments>``
    scope: Mapped[str] = mapped_column(String(200), unique=True)
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), unique=True
    )
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), index=True
    )
    #: The assignments whose counted attempts the report pools (one for an assignment).
    sources: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Raised by one each time an attempt of the assignment is finished (assignment scopes).
    revision: Mapped[int] = mapped_column(default=0)
    #: The revision (the sum of the sources' revisions) the document was computed at.
    computed_revision: Mapped[int | None]
    #: The report document before suppression (docs/report-schema.md), with ``cohort``/``module``.
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Item id -> the question's id in its bank, for display.
    labels: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: Per-student rows (``students.rows`` of the document), loaded only for the appendix.
    students: Mapped[list[dict[str, Any]] | None] = deferred(mapped_column(JSON))
    computed_at: Mapped[datetime | None]
    #: A recompute is queued or running since then; at most one per snapshot.
    queued_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))  #: why the last recompute failed

    pdfs: Mapped[list[ReportPdf]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", passive_deletes=True
    )


class PdfStatus(enum.StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    DONE = "done"
    FAILED = "failed"


class Appendix(enum.StrEnum):
    """What the PDF lists per student after the methods."""

    NONE = "none"
    NAMES = "names"
    PSEUDONYMS = "pseudonyms"


class ReportPdf(db.Model):
    """A report PDF rendered by a background job; its status is shown to the person waiting."""

    __tablename__ = "report_pdfs"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("report_snapshots.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(8))
    appendix: Mapped[Appendix] = mapped_column(str_enum(Appendix, "report_appendix"))
    status: Mapped[PdfStatus] = mapped_column(
        str_enum(PdfStatus, "report_pdf_status"), default=PdfStatus.QUEUED
    )
    #: The snapshot's ``computed_at`` the PDF shows; a newer snapshot needs a new PDF.
    snapshot_time: Mapped[datetime | None]
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    snapshot: Mapped[ReportSnapshot] = relationship(back_populates="pdfs")

    @property
    def pending(self) -> bool:
        return self.status in (PdfStatus.QUEUED, PdfStatus.RENDERING)
