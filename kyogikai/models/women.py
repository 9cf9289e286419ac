"""支援対象女性 and her 同伴家族 (要綱 3: the women and the families who come with them)."""

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from kyogikai.japanese.kana import fold
from kyogikai.models.base import VersionedMixin, db
from kyogikai.models.enums import LabeledEnum, enum_type
from kyogikai.models.generation import GenerationTriggers, Trigger


class ReferralRoute(LabeledEnum):
    """相談経路: how the woman first reached the council."""

    self_visit = "self_visit", _l("本人（来所）")
    self_phone = "self_phone", _l("本人（電話・メール）")
    family = "family", _l("家族・知人")
    police = "police", _l("警察")
    medical = "medical", _l("医療機関")
    child_guidance = "child_guidance", _l("児童相談所")
    welfare_office = "welfare_office", _l("福祉事務所")
    consultation_office = "consultation_office", _l("婦人相談所")
    private_organization = "private_organization", _l("民間団体")
    other_agency = "other_agency", _l("その他の関係機関")
    other = "other", _l("その他")


class Relationship(LabeledEnum):
    """続柄 of a companion to the woman."""

    child = "child", _l("子")
    parent = "parent", _l("父母")
    sibling = "sibling", _l("兄弟姉妹")
    grandparent = "grandparent", _l("祖父母")
    grandchild = "grandchild", _l("孫")
    other = "other", _l("その他")


woman_concerns = Table(
    "woman_concerns",
    db.metadata,
    Column("woman_id", ForeignKey("women.id", ondelete="CASCADE"), primary_key=True),
    Column("concern_id", ForeignKey("concerns.id"), primary_key=True, index=True),
)


class Concern(VersionedMixin, db.Model):
    """主訴 category; a lookup table so a council can add its own without a migration."""

    __tablename__ = "concerns"
    __label__ = _l("主訴区分")

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    def __str__(self) -> str:
        return self.name


class SecrecyChange(LabeledEnum):
    """A requested change of the 住所秘匿 flag, waiting for a second coordinator."""

    set = "set", _l("秘匿の設定")
    clear = "clear", _l("秘匿の解除")


ADDRESS_FIELDS = ("postal_code", "prefecture", "municipality", "street", "katagaki")


class AddressMixin:
    """A structured Japanese address; ``address_line`` is the one line forms and exports print.

    住所秘匿 changes go through two coordinators: the flag only moves when a second one confirms
    the pending request (policy.masking), and while any change is pending the address is masked.
    """

    postal_code: Mapped[str] = mapped_column(String(8), default="")
    prefecture: Mapped[str] = mapped_column(String(10), default="")
    municipality: Mapped[str] = mapped_column(String(50), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    katagaki: Mapped[str] = mapped_column(String(200), default="")  # 方書: building, room, c/o
    address_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    address_hidden_pending: Mapped[SecrecyChange | None] = mapped_column(enum_type(SecrecyChange))
    address_hidden_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    address_hidden_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def address_secret(self) -> bool:
        """Masked when hidden, and also while a request to set or clear the flag is pending."""
        return bool(self.address_hidden or self.address_hidden_pending is not None)

    @property
    def address_line(self) -> str:
        body = "".join(p for p in (self.prefecture, self.municipality, self.street) if p)
        if self.katagaki:
            body = f"{body}　{self.katagaki}" if body else self.katagaki
        if self.postal_code and body:
            return f"〒{self.postal_code} {body}"
        return body


class Woman(AddressMixin, VersionedMixin, db.Model):
    __tablename__ = "women"
    __label__ = _l("支援対象女性")
    __table_args__ = (Index("ix_women_furigana", "furigana"),
                      Index("ix_women_birth_date", "birth_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    furigana: Mapped[str] = mapped_column(String(200))
    alias: Mapped[str] = mapped_column(String(100), default="")  # 通称
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(30), default="")
    referral_route: Mapped[ReferralRoute | None] = mapped_column(enum_type(ReferralRoute))
    note: Mapped[str] = mapped_column(Text, default="")
    # fold(name, alias, furigana): verifies gram matches without re-folding every row.
    search_text: Mapped[str] = mapped_column(String(500), default="")

    companions = relationship("Companion", back_populates="woman", cascade="all, delete-orphan",
                              order_by="Companion.id")
    concerns = relationship("Concern", secondary=woman_concerns, order_by="Concern.sort_order")
    cases = relationship("Case", back_populates="woman")
    consents = relationship("Consent", back_populates="woman")

    def __str__(self) -> str:
        return f"{self.name}（{self.furigana}）" if self.furigana else self.name


class Companion(AddressMixin, VersionedMixin, db.Model):
    __tablename__ = "companions"
    __label__ = _l("同伴家族")

    id: Mapped[int] = mapped_column(primary_key=True)
    woman_id: Mapped[int] = mapped_column(ForeignKey("women.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    furigana: Mapped[str] = mapped_column(String(200), default="")
    relationship_to_woman: Mapped[Relationship] = mapped_column(enum_type(Relationship))
    birth_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    woman = relationship("Woman", back_populates="companions")

    def __str__(self) -> str:
        return f"{self.name}（{self.relationship_to_woman.label}）"


def address_secret_clause(model):
    """Hidden, or a change of the flag pending: the rows whose addresses are masked."""
    return sa.or_(model.address_hidden == sa.true(), model.address_hidden_pending.is_not(None))


# The few hidden addresses are read on every page someone who sees masks opens: partial
# indexes keep that a walk of those rows, not a scan of every woman. The home page counts the
# requests waiting for a second coordinator: a walk of those few. That index holds the pending
# column too: SQLite may serve the count from either partial index (the pending term is one of
# the hidden ones'), and only the one that covers the column wins its choice (revision
# f2b8d4a6c0e3: the other walked 30,000 hidden women, 12 ms at 100k).
for _model in (Woman, Companion):
    Index(f"ix_{_model.__tablename__}_address_secret", _model.id,
          sqlite_where=address_secret_clause(_model),
          postgresql_where=address_secret_clause(_model))
    Index(f"ix_{_model.__tablename__}_secrecy_pending", _model.address_hidden_pending, _model.id,
          sqlite_where=_model.address_hidden_pending.is_not(None),
          postgresql_where=_model.address_hidden_pending.is_not(None))


class AddressGeneration(db.Model):
    """The generation token (models.generation) of the hidden addresses: a process may keep its
    住所秘匿 matcher across requests while the token it was built under is still the one it
    reads (ADDRESS_TRIGGERS)."""

    __tablename__ = "address_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[int] = mapped_column(sa.BigInteger)

    def __str__(self) -> str:
        return f"秘匿住所の世代 {self.token}"


# Women count only while hidden (before or after the change); any change to a companion counts
# (she may be hidden with her woman). The same statements run in the Alembic revision that adds
# them; create_all (tests) runs them here.
_WATCHED = (*ADDRESS_FIELDS, "address_hidden", "address_hidden_pending")
_SECRET = "{row}.address_hidden OR {row}.address_hidden_pending IS NOT NULL"
_WOMAN_SECRET = f"{_SECRET.format(row='OLD')} OR {_SECRET.format(row='NEW')}"
ADDRESS_TRIGGERS = GenerationTriggers("address_generation", {
    "address_generation_women_insert": Trigger("women", "INSERT", _SECRET.format(row="NEW")),
    "address_generation_women_update": Trigger("women", f"UPDATE OF {', '.join(_WATCHED)}",
                                               _WOMAN_SECRET),
    "address_generation_women_delete": Trigger("women", "DELETE"),
    "address_generation_companions_insert": Trigger("companions", "INSERT"),
    "address_generation_companions_update": Trigger(
        "companions", f"UPDATE OF {', '.join((*_WATCHED, 'woman_id'))}"),
    "address_generation_companions_delete": Trigger("companions", "DELETE"),
}, {"address_generation_women_truncate": "women",
    "address_generation_companions_truncate": "companions"}, once_per_transaction=True)
ADDRESS_GENERATION_DDL = ADDRESS_TRIGGERS.ddl
ADDRESS_GENERATION_DROP = ADDRESS_TRIGGERS.drop


@event.listens_for(db.metadata, "after_create")
def _create_generation(target, connection, tables=(), **kw) -> None:
    """After the whole metadata (the triggers need women and companions), when the table
    itself was created in this call."""
    if AddressGeneration.__table__ in tables:
        ADDRESS_TRIGGERS.create(connection)


def generation_token(dialect: str):
    """SQL: the hidden addresses' token, NULL when a trigger that keeps it is missing."""
    return ADDRESS_TRIGGERS.token(AddressGeneration, dialect)


class NameSearchGram(db.Model):
    """Unigrams and bigrams of each of a woman's folded names (氏名, 通称, フリガナ), never across
    two of them: an indexed lookup instead of a scan.

    A one- or two-character term (most Japanese surnames are two kanji) is a gram itself, so the
    rows holding it are exactly the women with it in one of her names: no confirmation needed.
    """

    __tablename__ = "name_search_grams"
    __table_args__ = (Index("ix_name_search_grams_gram_woman", "gram", "woman_id"),)

    woman_id: Mapped[int] = mapped_column(
        ForeignKey("women.id", ondelete="CASCADE"), primary_key=True
    )
    gram: Mapped[str] = mapped_column(String(2), primary_key=True)

    def __str__(self) -> str:
        return f"氏名索引「{self.gram}」"


TRIGRAM_OPCLASS = "gin_trgm_ops"


def trigrams_usable(connection) -> bool:
    """pg_trgm is installed where this connection finds it and indexes Japanese (a UTF-8
    LC_CTYPE: under C it extracts no trigram from kana or kanji)."""
    return bool(connection.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_opclass WHERE opcname = %(opclass)s"
        " AND pg_opclass_is_visible(oid))", {"opclass": TRIGRAM_OPCLASS}).scalar()
        and connection.exec_driver_sql("SELECT show_trgm('サトウ') <> '{}'").scalar())


# PostgreSQL: a term of three characters or more is matched with LIKE on search_text, which
# this trigram index serves (サトウ at 100,000 women: one posting list, not two bigram lists
# grouped). Where pg_trgm is missing the same LIKE scans: the same rows, slower; the migration
# refuses such a database (revision 5e0c1a7d2b94). fastupdate off: with GIN's pending list
# (up to 4 MB of unsorted entries until a vacuum) the planner judged the index dearer than a
# scan of every woman; women are added a few a day, each updating the index directly.
Index("ix_women_search_text_trgm", Woman.search_text, postgresql_using="gin",
      postgresql_ops={"search_text": TRIGRAM_OPCLASS},
      postgresql_with={"fastupdate": "off"}).ddl_if(
    dialect="postgresql", callable_=lambda ddl, target, bind, **kw: trigrams_usable(bind))


def search_grams(*names: str) -> list[str]:
    """The grams of each folded name: its characters and its bigrams, never across two names."""
    grams = []
    for name in names:
        key = fold(name or "")
        grams += [*key, *(key[i:i + 2] for i in range(len(key) - 1))]
    return list(dict.fromkeys(grams))


@event.listens_for(Session, "before_flush")
def _index_names(session: Session, flush_context, instances) -> None:
    """Keep search_text and the gram rows in step with every name change, in the same flush."""
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Woman):
            continue
        text = "|".join(fold(p) for p in (obj.name, obj.alias, obj.furigana) if p)
        if obj.search_text == text and obj.id is not None:
            continue
        obj.search_text = text
        obj._pending_grams = search_grams(obj.name, obj.alias, obj.furigana)


@event.listens_for(Woman, "after_insert")
@event.listens_for(Woman, "after_update")
def _write_grams(mapper, connection, target: Woman) -> None:
    grams = getattr(target, "_pending_grams", None)
    if grams is None:
        return
    table = NameSearchGram.__table__
    connection.execute(table.delete().where(table.c.woman_id == target.id))
    if grams:
        connection.execute(table.insert(), [{"woman_id": target.id, "gram": g} for g in grams])
    del target._pending_grams


def name_matches(woman_id_column, term: str):
    """A WHERE clause: the woman behind woman_id_column has fold(term) within one of her names.

    One or two characters: the gram rows themselves (exact, see NameSearchGram). Longer, on
    PostgreSQL: LIKE on ``search_text`` (the trigram index). Longer elsewhere: every bigram
    through the (gram, woman_id) index, the candidates confirmed against ``search_text`` so that
    'アオキ' does not match 'アオ…キ'. ``|`` separates the names in ``search_text``; a key
    holding one takes the gram path, where it can never span two names.
    """
    key = fold(term)
    if not key:
        return sa.true()
    table = NameSearchGram.__table__
    if len(key) <= 2:
        return woman_id_column.in_(sa.select(table.c.woman_id).where(table.c.gram == key))
    within_names = Woman.search_text.contains(key, autoescape=True)
    if db.engine.dialect.name == "postgresql" and "|" not in key:
        return woman_id_column.in_(sa.select(Woman.id).where(within_names))
    grams = list(dict.fromkeys(key[i:i + 2] for i in range(len(key) - 1)))
    candidates = (
        sa.select(table.c.woman_id)
        .where(table.c.gram.in_(grams))
        .group_by(table.c.woman_id)
        .having(sa.func.count(sa.distinct(table.c.gram)) == len(grams))
    )
    return woman_id_column.in_(sa.select(Woman.id).where(Woman.id.in_(candidates), within_names))
