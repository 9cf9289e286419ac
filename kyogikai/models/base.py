"""The declarative base and the Flask-SQLAlchemy handle shared by every model module."""

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names let Alembic's batch mode (SQLite) alter and drop constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    """Creation and update times, in UTC, for every record a person edits."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class VersionedMixin(TimestampMixin):
    """Optimistic locking for every record a person edits (SQLAlchemy ``version_id_col``).

    Each UPDATE is ``… WHERE id = ? AND version = <the version loaded>`` and bumps the version,
    so a save based on an older reading touches no row and fails instead of silently replacing
    another person's work. ``updated_by_id`` names who saved last, for the refusal message; it
    carries no foreign key, so it neither blocks an account's deletion nor ties users and
    agencies into a cycle (policy.versioning sets it on every save).
    """

    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_by_id: Mapped[int | None] = mapped_column(Integer)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}


def include_object_on(dialect_name: str):
    """Alembic's include_object for a database of this dialect: an index the models create on
    another dialect only (``Index.ddl_if(dialect=…)``) is not expected there."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        only_on = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        return reflected or type_ != "index" or only_on in (None, dialect_name)

    return include
