"""Enumerations whose members carry a Japanese label.

The stored value is a stable ASCII code (member name == value), so data survives a relabelling;
the label is what every screen and export shows, never the Python name.
"""

import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l


class LabeledEnum(enum.StrEnum):
    """A str enum whose members are declared as ``code = "code", _l("表示名")``."""

    def __new__(cls, value: str, label):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    def __str__(self) -> str:
        return str(self.label)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]

    @classmethod
    def all_subclasses(cls) -> list[type["LabeledEnum"]]:
        found, todo = [], list(cls.__subclasses__())
        while todo:
            sub = todo.pop()
            found.append(sub)
            todo.extend(sub.__subclasses__())
        return found


def enum_type(enum_cls: type[LabeledEnum]) -> sa.Enum:
    """A portable VARCHAR + CHECK column type for a LabeledEnum (no native PG enum to migrate)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        name=None,  # the CHECK is then named by the convention, per column, not per type
        length=max(len(m.value) for m in enum_cls),
        validate_strings=True,
    )


class Role(LabeledEnum):
    """The five roles of DOMAIN.md; the codes are the internal names the CLI accepts."""

    admin = "admin", _l("システム管理者")
    coordinator = "coordinator", _l("調整担当者")
    clerk = "clerk", _l("事務担当")
    agency_staff = "agency_staff", _l("関係機関担当者")
    supervisor = "supervisor", _l("管理職・閲覧者")
