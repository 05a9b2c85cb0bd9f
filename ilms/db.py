"""The declarative base, shared column helpers and the database engine settings."""

from __future__ import annotations

import contextvars
import enum
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from sqlalchemy.types import TypeDecorator

# Constraint names are fixed so that migrations can refer to them on every database
# (SQLite's batch mode recreates tables and needs to know them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A column type for an enum stored as its values in text, with a CHECK constraint listing them.

    Text rather than a native type, so that two tables can share an enum on PostgreSQL and
    migrations need no CREATE TYPE.
    """
    return Enum(
        cls,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        native_enum=False,
        length=20,
        create_constraint=True,
    )


# --- SQLite -------------------------------------------------------------------------------
# Deferred SQLite transactions that read and then write fail at once with "database is locked"
# when another process committed in between (the busy timeout does not apply to that upgrade).
# Write transactions therefore begin IMMEDIATE; read-only requests (GET) begin deferred so that
# readers never queue behind writers (WAL lets them read a consistent snapshot).
_sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_write_intent", default=True
)


def set_write_intent(value: bool) -> contextvars.Token[bool]:
    return _sqlite_write_intent.set(value)


@contextmanager
def read_before_writing(session: Session) -> Iterator[bool]:
    """Run the reads inside on SQLite in a transaction of their own, ended before the writes.

    A write request's first query takes SQLite's write lock, which serialises every writer of the
    database; a read that needs no lock (the log-in behind a request) done first keeps the lock
    for the writes alone. The objects read stay loaded. Elsewhere (PostgreSQL, GET requests, or
    a transaction already begun) this does nothing. Gives whether the reads are apart.
    """
    if (
        not _sqlite_write_intent.get()
        or session.in_transaction()
        or session.new
        or session.dirty
        or session.deleted
        or session.get_bind().dialect.name != "sqlite"
    ):
        yield False
        return
    token = _sqlite_write_intent.set(False)
    try:
        yield True
    finally:
        _sqlite_write_intent.reset(token)
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Turn on WAL, foreign keys and a busy timeout, and take the write lock up front."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, open transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _sqlite_write_intent.get():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
