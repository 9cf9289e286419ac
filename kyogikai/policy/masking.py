"""住所秘匿 (DOMAIN rule 3): hidden addresses never reach a reader who may not see them.

The one rule, used by screens, exports, custom screens, search and save alike:
- a record's own address fields (``ADDRESS`` columns and ``address_line``) show as ``MASK``
  while the record is hidden or a change of its flag is pending; a companion of a hidden woman
  is hidden with her;
- free text (``FREE_TEXT`` columns in policy.resources) passes through one matcher built from
  *every* hidden address the reader may not see, normalised (japanese.address): full-width or
  kanji numerals, 丁目/番地/号 or hyphens, spaces and line breaks, the postal code in any form,
  the building with or without its room, the town plus 丁目 alone;
- free text that spells a hidden address is refused at save time for everyone but those who
  may see hidden addresses (``check_free_text``), with a Japanese message;
- the flag moves only when a second 調整担当者 confirms a pending request; both steps audited.

For custom screens and exports: ``shown(record, field)`` is a field as the reader may see it,
``mask_free_text(text)`` any text, ``check_free_text(text)`` the save-time refusal.
"""

from functools import cached_property, lru_cache

from flask import g, has_app_context, has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import event, inspect, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from kyogikai.japanese.address import KeyMatcher, address_keys
from kyogikai.models import AuditAction, AuditOutcome, Companion, SecrecyChange, Woman, db
from kyogikai.models.base import utcnow
from kyogikai.models.women import ADDRESS_FIELDS, AddressMixin, address_secret_clause
from kyogikai.policy import audit, request_values, token_cache
from kyogikai.policy.matrix import DETAILS, allowed
from kyogikai.policy.resources import FREE_TEXT, resource_of

MASK = "＊＊＊（住所秘匿）"
# Before a hidden address on a sheet for someone who may see it (様式1 of a 調整担当者): neither
# the person holding the paper nor a later import of the file takes it for an ordinary address.
HIDDEN_MARK = "【住所秘匿】"
MASKED_NAMES = frozenset(ADDRESS_FIELDS) | {"address_line"}
PLACEHOLDER = "（秘匿住所）"  # what people are asked to write instead of a hidden address


class SecrecyError(Exception):
    """A refused step of the two-person flow; the message is Japanese, for the screen."""


class HiddenAddressInText(ValueError):
    """Free text that spells a hidden address; the message is Japanese, for the screen."""


# ---------------------------------------------------------------- who sees what


def _user(user):
    """The user asked about, or the one signed in: the object itself, not the proxy (masking
    asks for every cell of a list; each read through the proxy looks the user up again)."""
    if user is not None:
        return user
    return current_user._get_current_object() if has_request_context() else current_user


def may_see_hidden(user=None) -> bool:
    user = _user(user)
    return bool(getattr(user, "is_authenticated", False)) and allowed(
        user.role, DETAILS, "hidden_address")


def is_secret(obj) -> bool:
    """Hidden (or a change pending), itself or, for a companion, with the woman she lives with."""
    if not isinstance(obj, AddressMixin):
        return False
    if obj.address_secret:
        return True
    woman = obj.woman if isinstance(obj, Companion) else None
    return woman is not None and woman.address_secret


def is_masked(obj, user=None) -> bool:
    return is_secret(obj) and not may_see_hidden(user)


def hides_field(record, name: str, user=None) -> bool:
    """Whether ``name`` of ``record`` is one of its own address fields, shown as the mask."""
    return name in MASKED_NAMES and is_masked(record, user)


# ---------------------------------------------------------------- the matcher


def _hidden_addresses() -> tuple[list[tuple], object]:
    """Address parts of every hidden woman and companion (a companion of a hidden woman too),
    and the token as the same statement read it (``token_cache.MISSING`` without a row)."""
    token = request_values.generation_column()
    columns = [Woman.postal_code, Woman.municipality, Woman.street, Woman.katagaki, token]
    woman_hidden = address_secret_clause(Woman)  # the partial indexes' own clause
    women = select(*columns).where(woman_hidden)
    own = select(Companion.postal_code, Companion.municipality, Companion.street,
                 Companion.katagaki, token).where(address_secret_clause(Companion))
    with_her = (select(Companion.postal_code, Companion.municipality, Companion.street,
                       Companion.katagaki, token)
                .where(Companion.woman_id.in_(select(Woman.id).where(woman_hidden))))
    with db.session.no_autoflush:
        rows = db.session.execute(union_all(women, own, with_her)).all()
    return [tuple(row[:4]) for row in rows], rows[0][4] if rows else token_cache.MISSING


@lru_cache(maxsize=8192)
def _keys(postal_code, municipality, street, katagaki) -> frozenset:
    return frozenset(address_keys(postal_code=postal_code or "", municipality=municipality or "",
                                  street=street or "", katagaki=katagaki or ""))


@lru_cache(maxsize=8)
def _matcher(keys: frozenset) -> KeyMatcher:
    return KeyMatcher(keys)


_NOTHING = KeyMatcher(())


def hidden_address_matcher(user=None) -> KeyMatcher:
    """One matcher over every hidden address ``user`` may not see (none for a coordinator).

    Kept for the request in ``g`` (dropped when the request itself writes an address) and per
    process under the database's generation token (models.women.AddressGeneration, changed by
    triggers in the same transaction as any change to a hidden address; policy.token_cache).
    The keys of each address and the compiled matcher are cached by content as well.
    """
    if may_see_hidden(user):
        return _NOTHING
    if has_app_context() and "hidden_address_matcher" in g:
        return g.hidden_address_matcher

    def read():
        addresses, after = _hidden_addresses()
        keys = frozenset().union(*(_keys(*row) for row in addresses))
        return (_matcher(keys) if keys else _NOTHING), after

    matcher = token_cache.value(("hidden_address_matcher",), "address_generation",
                         request_values.generation_column, read)
    if has_app_context():
        g.hidden_address_matcher = matcher
    return matcher


def forget_matcher() -> None:
    """After the request's own change: read the token (now its own) and the addresses again."""
    if has_app_context():
        g.pop("hidden_address_matcher", None)
        g.pop("address_generation", None)
        g.pop("masking_reader", None)  # it keeps the matcher it was given


@event.listens_for(Session, "after_flush")
def _addresses_changed(session, flush_context) -> None:
    if any(isinstance(obj, AddressMixin) for obj in (*session.new, *session.dirty,
                                                     *session.deleted)):
        forget_matcher()


_ADDRESS_TABLES = frozenset({Woman.__tablename__, Companion.__tablename__})


@event.listens_for(Session, "do_orm_execute")
def _addresses_written(state) -> None:
    """A bulk or hand-written statement through the session that may write an address: the
    triggers change the token; this request forgets what it read before. A statement whose
    table cannot be told (text) counts as one that does."""
    if isinstance(state.statement, TextClause):
        forget_matcher()
    elif state.is_insert or state.is_update or state.is_delete:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name is None or name in _ADDRESS_TABLES:
            forget_matcher()


# ---------------------------------------------------------------- display


class Reader:
    """The display rule for one reader, decided once: whether she may see hidden addresses,
    and the matcher over those she may not. An export masking thousands of records asks this
    once, not per value; the functions below are the same rule for a single value."""

    def __init__(self, user=None):
        self.user = user

    @cached_property
    def sees_hidden(self) -> bool:
        return may_see_hidden(self.user)

    @cached_property
    def matcher(self) -> KeyMatcher:
        """Asked for only when there is text to mask, as it reads the hidden addresses."""
        return hidden_address_matcher(self.user)

    def hides_field(self, record, name: str) -> bool:
        return name in MASKED_NAMES and is_secret(record) and not self.sees_hidden

    def free_text(self, text):
        """``text`` with every hidden address replaced by ``MASK``; a Markup stays a Markup
        (the mask holds no HTML)."""
        if not text or not isinstance(text, str) or not self.matcher:
            return text
        masked = self.matcher.replace(str(text), MASK)
        if masked == str(text):
            return text
        # Already-safe markup with address text replaced by MASK, which holds no HTML.
        return Markup(masked) if isinstance(text, Markup) else masked  # nosec B704  # see above

    def value(self, record, name: str, value):
        """See ``shown_value``."""
        if self.hides_field(record, name):
            return MASK
        if not isinstance(value, str):
            return value
        resource = resource_of(record)
        if resource is None:
            return value
        rule = resource.text_rule(name)
        if rule == FREE_TEXT or (rule is None and resource.personal):
            return self.free_text(value)
        return value

    def address_on_paper(self, record) -> str:
        """The one-line address for a printed or exported sheet: the mask, or, for someone who
        may see a hidden one, the address after ``HIDDEN_MARK``."""
        shown = self.shown(record, "address_line") or ""
        if shown and shown != MASK and is_secret(record):
            return f"{HIDDEN_MARK}{shown}"
        return shown

    def shown(self, record, name: str):
        """See ``shown``."""
        if self.hides_field(record, name):
            return MASK
        return self.value(record, name, getattr(record, name, None))


def request_reader() -> Reader:
    """The signed-in user's Reader, decided once per request: a list asks for every cell."""
    user = _user(None)
    if not has_app_context():
        return Reader(user)
    reader = g.get("masking_reader")
    if reader is None or reader.user is not user:
        reader = g.masking_reader = Reader(user)
    return reader


def mask_free_text(text, user=None):
    """``text`` with every hidden address ``user`` may not see replaced by ``MASK``.

    For any text shown or exported: minutes, notes, a custom screen's summary line. Keeps a
    Markup a Markup (the mask holds no HTML).
    """
    if not text or not isinstance(text, str):
        return text
    return Reader(user).free_text(text)


def shown_value(record, name: str, value, user=None):
    """What ``user`` may see of ``value``, shown for field ``name`` of ``record``.

    Address fields of a hidden record: the mask, even when empty (emptiness is not shown
    either). Free-text columns: masked by the matcher. Columns exempted in policy.resources:
    as they are. Anything else that is text (a computed cell, a related record's name) on a
    personal resource: masked by the matcher too, deny by default.
    """
    return Reader(user).value(record, name, value)


def shown(record, name: str, user=None):
    """Field ``name`` of ``record`` as ``user`` may see it: for custom screens and exports."""
    return Reader(user).shown(record, name)


def masks_text(text, user=None) -> bool:
    """Whether ``text`` would be shown to ``user`` with part of it masked."""
    return bool(text) and isinstance(text, str) and hidden_address_matcher(user).search(text)


# ---------------------------------------------------------------- saving


def refusal_message(label=None) -> str:
    if label:
        return _("「%(label)s」に秘匿された住所が含まれています。住所の部分は「%(placeholder)s」と"
                 "書き換えてから保存してください。", label=label, placeholder=PLACEHOLDER)
    return _("秘匿された住所が含まれています。住所の部分は「%(placeholder)s」と書き換えてから"
             "保存してください。", placeholder=PLACEHOLDER)


def check_free_text(text, user=None, label=None) -> None:
    """Refuse free text that spells a hidden address ``user`` may not see.

    Raises HiddenAddressInText with a Japanese message asking for 「（秘匿住所）」 instead. For
    every writer of free text: the screens (through the base view), custom screens, the Excel
    importer. A 調整担当者 (who may see hidden addresses) is never refused.
    """
    if masks_text(text, user):
        raise HiddenAddressInText(refusal_message(label))


def changed_free_text(record) -> list[str]:
    """FREE_TEXT columns of ``record`` whose value this unit of work sets or changes."""
    resource = resource_of(record)
    if resource is None:
        return []
    state = inspect(record)
    return [name for name in resource.free_text
            if (added := state.attrs[name].history.added) and added[0]]


def text_problems(record, user=None) -> list[str]:
    """FREE_TEXT columns of ``record`` changed to text that spells a hidden address."""
    return [name for name in changed_free_text(record)
            if masks_text(getattr(record, name), user)]


def hidden_fields(record, user=None) -> list[str]:
    """Fields of a stored record that ``user`` sees masked and so may not change: its own
    address when it is hidden, and free text that spells a hidden address."""
    names = list(ADDRESS_FIELDS) if is_masked(record, user) else []
    resource = resource_of(record)
    if resource is not None:
        state = inspect(record)
        for name in resource.free_text:
            history = state.attrs[name].history
            stored = history.deleted[0] if history.deleted else getattr(record, name)
            if masks_text(stored, user):
                names.append(name)
    return names


def keep_hidden_values(record, user=None) -> list[str]:
    """Undo any change to a field ``user`` sees masked (whatever a form posted: the mask, a
    blank, a stale copy); return the names kept. New records have nothing hidden to keep."""
    state = inspect(record)
    if state.transient or state.pending:
        return []
    kept = []
    for name in hidden_fields(record, user):
        history = state.attrs[name].history
        if history.has_changes():
            setattr(record, name, history.deleted[0] if history.deleted else "")
            kept.append(name)
    return kept


@event.listens_for(Session, "before_flush")
def _guard_hidden_values(session, flush_context, instances) -> None:
    """The last line, for every flush in a request by someone who may not see hidden addresses
    (an autoflush too, whichever screen or code path set the values): what they see masked
    keeps its stored value, and no free text they write may spell a hidden address. Views
    do both earlier, field by field, with messages; this holds when they are bypassed."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return
    if may_see_hidden():
        return
    with session.no_autoflush:
        for obj in session.dirty:
            keep_hidden_values(obj)
        if any(text_problems(obj) for obj in (*session.new, *session.dirty)):
            raise HiddenAddressInText(refusal_message())


# ---------------------------------------------------------------- the two-person flag change


def _object_type(obj) -> str:
    return "companion" if isinstance(obj, Companion) else "woman"


def route_flag_edit(obj, user=None) -> None:
    """A form that ticks or unticks 住所秘匿 files a request instead of moving the flag."""
    user = _user(user)
    state = inspect(obj)
    history = state.attrs.address_hidden.history
    if state.pending or state.transient:
        wanted, before = bool(obj.address_hidden), False
    elif history.has_changes():
        wanted, before = bool(history.added[0]), bool(history.deleted[0]) if history.deleted else False
    else:
        return
    if wanted == before:
        return
    obj.address_hidden = before
    _file_request(obj, SecrecyChange.set if wanted else SecrecyChange.clear, user)


def _file_request(obj, change: SecrecyChange, user) -> None:
    obj.address_hidden_pending = change
    obj.address_hidden_requested_by_id = user.id
    obj.address_hidden_requested_at = utcnow()
    if obj.id is None:
        db.session.flush()  # a new record: its id is what the audit event must name
    # The person asking, named even where no one is signed in (the ledger import's command line).
    audit.record(AuditAction.address_secrecy, object_type=_object_type(obj),
                 object_id=obj.id, detail=f"requested={change.value}", with_change=True,
                 user_id=user.id)


SECRECY_STATES = ("open", "hidden", "pending_set", "pending_clear")


def secrecy_state(obj) -> str:
    """The record's own flag, as the explicit control shows it and expects it unchanged."""
    if obj.address_hidden_pending is not None:
        return f"pending_{obj.address_hidden_pending.value}"
    return "hidden" if obj.address_hidden else "open"


def request_change(obj, change, expected: str, user=None) -> None:
    """The explicit control: ask for the flag to be set or cleared, as the person saw it.

    Refused (SecrecyError, Japanese) when the state changed since the page was shown, when a
    request is already waiting, or when the flag already is what is asked.
    """
    user = _user(user)
    if change not in (SecrecyChange.set, SecrecyChange.clear):
        raise SecrecyError(_("住所秘匿の申請内容が正しくありません。"))
    state = secrecy_state(obj)
    if state != expected:
        raise SecrecyError(_("この画面を開いた後に住所秘匿の状態が変わりました。"
                             "画面を開き直して、現在の状態を確認してください。"))
    if obj.address_hidden_pending is not None:
        raise SecrecyError(_("確認待ちの申請があります。別の調整担当者の確認を待ってください。"))
    if (change is SecrecyChange.set) == bool(obj.address_hidden):
        raise SecrecyError(_("住所秘匿は既にその状態です。"))
    _file_request(obj, change, user)


def confirm(obj, user=None) -> None:
    """The second coordinator's confirmation: the flag moves now."""
    user = _user(user)
    _check_second_person(obj, user)
    change = obj.address_hidden_pending
    obj.address_hidden = change is SecrecyChange.set
    _clear_request(obj)
    audit.record(AuditAction.address_secrecy, object_type=_object_type(obj), object_id=obj.id,
                 detail=f"confirmed={change.value}", with_change=True, user_id=user.id)


def reject(obj, user=None) -> None:
    user = _user(user)
    _check_second_person(obj, user)
    change = obj.address_hidden_pending
    _clear_request(obj)
    audit.record(AuditAction.address_secrecy, outcome=AuditOutcome.denied,
                 object_type=_object_type(obj), object_id=obj.id,
                 detail=f"rejected={change.value}", with_change=True, user_id=user.id)


def _check_second_person(obj, user) -> None:
    if obj.address_hidden_pending is None:
        raise SecrecyError(_("確認待ちの住所秘匿の変更はありません。"))
    if not allowed(user.role, "edit", "address_secrecy"):
        raise SecrecyError(_("住所秘匿の変更を確認できるのは調整担当者だけです。"))
    if obj.address_hidden_requested_by_id == user.id:
        raise SecrecyError(_("申請した本人は確認できません。別の調整担当者が確認してください。"))


def _clear_request(obj) -> None:
    obj.address_hidden_pending = None
    obj.address_hidden_requested_by_id = None
    obj.address_hidden_requested_at = None


@event.listens_for(Session, "before_flush")
def _never_save_the_mask(session, flush_context, instances) -> None:
    """The mask is a display, never data: sent back in an address field it changes nothing."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, AddressMixin):
            continue
        state = inspect(obj)
        for name in ADDRESS_FIELDS:
            if getattr(obj, name) == MASK:
                history = state.attrs[name].history
                setattr(obj, name, history.deleted[0] if history.deleted else "")
