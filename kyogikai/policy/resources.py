"""Every resource declared once: model, Japanese label, grants, personal or not, scope rule, text.

Everything else is derived from ``RESOURCES``, so a new entity cannot be half-declared:
- the role × action matrix (``policy.matrix.MATRIX``) from ``grants``;
- which lists and reads are audited (``PERSONAL_RESOURCES``) from ``personal``;
- the labels on menus, in the printed matrix and in the audit log from ``label``;
- the rows a scoped user (関係機関担当者) sees (``policy.scoping``) from ``scope``;
- which text is masked and checked at save time (``policy.masking``) from ``text``;
- the admin screens' resource names and endpoints (``admin_views.registry``).

``check()`` runs at start-up (``create_app``) and in the tests. It refuses a model with a
foreign-key path to a woman or a case that is not declared personal, a String/Text column of a
personal resource that is neither masked nor exempted with a reason, a text rule naming no
column, and grants to unknown actions. Deny by default: a scoped user sees no row of a resource
without a scope rule, and ``policy.scoping.scope_model`` returns no rows for an undeclared model.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from kyogikai.models import (
    Agency,
    AnnualReport,
    Attachment,
    AuditEvent,
    BusinessPlan,
    Case,
    CaseReview,
    CaseSerial,
    Companion,
    Concern,
    Consent,
    ConsentAgency,
    Council,
    LoginThrottle,
    Meeting,
    MeetingCase,
    Member,
    NameSearchGram,
    Notice,
    PlanCostLine,
    RecoveryCode,
    ReportCostLine,
    Role,
    RoleAssignment,
    SupportRecord,
    User,
    Woman,
    db,
)
from kyogikai.models.women import ADDRESS_FIELDS
from kyogikai.policy.actions import (
    ACTIONS,
    CREATE,
    DELETE,
    DETAILS,
    EDIT,
    FULL,
    LIST,
    READ,
    READ_EXPORT,
    WRITE,
)

# ---------------------------------------------------------------- what a text column may carry

FREE_TEXT = "free_text"
"""Words a person typed: may hold an address. Masked on every output for readers who may not see
hidden addresses, refused at save time when it spells one, searched only in its masked form."""

ADDRESS = "address"
"""A part of the record's own address: shown as the mask, whole, while the record is hidden."""


@dataclass(frozen=True)
class Exempt:
    """A text column that is neither masked nor checked, and why that is safe."""

    reason: str


def every_text_column(model, rule=FREE_TEXT) -> dict:
    """The same rule for every String/Text column (long report texts, all typed by people)."""
    return {column.key: rule for column in text_columns(model)}


def text_columns(model) -> list:
    """String and Text columns of a model; enumerations are codes from a closed list, not text."""
    return [column for column in sa.inspect(model).columns
            if isinstance(column.type, sa.String) and not isinstance(column.type, sa.Enum)]


ADDRESS_COLUMNS = dict.fromkeys(ADDRESS_FIELDS, ADDRESS)
NAME = Exempt("氏名・フリガナ: the person herself, shown only within the reader's scope; not a place")

# ---------------------------------------------------------------- scope rules (関係機関担当者)


@dataclass(frozen=True)
class ViaCase:
    """Rows of a case the agency may see (current role or meeting attendance, and consent)."""

    column: str  # attribute holding the case id


@dataclass(frozen=True)
class ViaWoman:
    """Rows of a woman one of whose cases the agency may see."""

    column: str  # attribute holding the woman id


@dataclass(frozen=True)
class ConsentNamingAgency:
    """A visible woman's consents, only those that name the agency and are valid today."""

    column: str = "woman_id"


@dataclass(frozen=True)
class Through:
    """Rows pointing (by ``column``) at a row of another resource the user may see."""

    resource: str
    column: str


@dataclass(frozen=True)
class AttendedMeeting:
    """Meetings the agency attended."""


@dataclass(frozen=True)
class AddressedTo:
    """Rows addressed to the user (an inbox): every role sees its own and no one else's."""

    column: str  # attribute holding the user id


@dataclass(frozen=True)
class LikeItsRecord:
    """Rows hanging on one of several records (an attachment): visible when the record is,
    by that record's own scope rule."""

    owners: Mapping[str, str]  # attribute holding the record id → the record's resource


@dataclass(frozen=True)
class EveryRow:
    """Rows anyone the matrix lets in may see (the member agencies' own directory)."""


EVERY_ROW = EveryRow()

# ---------------------------------------------------------------- the declaration


@dataclass(frozen=True)
class Resource:
    name: str
    label: object
    grants: Mapping[Role, frozenset] = field(default_factory=dict)
    model: type | None = None
    personal: bool = False
    scope: object = None  # None: a scoped user sees no row
    text: Mapping[str, object] = field(default_factory=dict)

    def text_rule(self, column: str):
        return self.text.get(column)

    @property
    def free_text(self) -> tuple[str, ...]:
        return tuple(name for name, rule in self.text.items() if rule == FREE_TEXT)


A, CO, CL, AS, SU = Role.admin, Role.coordinator, Role.clerk, Role.agency_staff, Role.supervisor
CASE_CONTENT = {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ}

_DECLARED = [
    # The home page: everyone logged in has one.
    Resource("dashboard", _l("ホーム"), {A: READ, CO: READ, CL: READ, AS: READ, SU: READ}),
    # Accounts and settings: システム管理者 only (separation of duties).
    Resource("user", _l("利用者アカウント"), {A: FULL - {"export"}}, model=User),
    # Sign-in throttles: seen and cleared by システム管理者 (policy.throttling).
    Resource("login_throttle", _l("ログイン試行の制限"), {A: READ | {DELETE}},
             model=LoginThrottle),
    # An account that can read case content waits until a 調整担当者 other than the account and
    # the person who asked approves it (policy.accounts).
    Resource("account_approval", _l("アカウントの承認（調整担当者）"), {CO: READ | {EDIT}}),
    # Everyone's own password and second factor.
    Resource("own_account", _l("自分のアカウント（パスワード・二要素認証）"),
             {role: READ | {EDIT} for role in (A, CO, CL, AS, SU)}),
    Resource("council", _l("地域協議会"), {A: READ | {EDIT}, CO: READ, CL: READ, SU: READ},
             model=Council),
    Resource("agency", _l("関係機関"),
             {A: FULL - {"export"}, CO: READ_EXPORT, CL: READ, SU: READ_EXPORT, AS: READ},
             model=Agency, scope=EVERY_ROW),
    Resource("member", _l("構成員・担当者"), {A: FULL - {"export"}, CO: READ, CL: READ, SU: READ},
             model=Member),
    Resource("concern", _l("主訴区分"), {A: FULL - {"export"}, CO: READ, CL: READ, SU: READ},
             model=Concern),
    # The audit log: whole log for システム管理者, read-only.
    Resource("audit_event", _l("監査ログ"), {A: READ}, model=AuditEvent),
    # Case content. システム管理者 sees none of it; 関係機関担当者 reads, and only the rows their
    # scope rule lets through (their cases, while consent covers them).
    Resource("case", _l("ケース進行管理台帳"), CASE_CONTENT, model=Case, personal=True,
             scope=ViaCase("id"),
             text={"number": Exempt("番号: generated (R7-0001), never typed"),
                   "end_reason": FREE_TEXT, "note": FREE_TEXT}),
    Resource("woman", _l("支援対象女性"), CASE_CONTENT, model=Woman, personal=True,
             scope=ViaWoman("id"),
             text={**ADDRESS_COLUMNS, "name": NAME, "furigana": NAME, "alias": FREE_TEXT,
                   "phone": Exempt("電話番号: digits; a postal-code-shaped run would be a false "
                                   "match, and a number is not a place"),
                   "search_text": Exempt("folded copy of 氏名・通称・フリガナ for the name index; "
                                         "never shown"),
                   "note": FREE_TEXT}),
    Resource("consent", _l("本人同意"), CASE_CONTENT, model=Consent, personal=True,
             scope=ConsentNamingAgency(), text={"note": FREE_TEXT}),
    Resource("consent_agency", _l("本人同意の対象機関"), model=ConsentAgency, personal=True,
             scope=Through("consent", "consent_id")),
    Resource("case_review", _l("管理記録"), CASE_CONTENT, model=CaseReview, personal=True,
             scope=ViaCase("case_id"),
             text={"situation": FREE_TEXT, "support_policy": FREE_TEXT}),
    Resource("support_record", _l("支援経過"), CASE_CONTENT, model=SupportRecord, personal=True,
             scope=ViaCase("case_id"), text={"content": FREE_TEXT}),
    # 役割分担 is decided at a meeting: the coordinator records it; others read. History only
    # grows: nobody edits or deletes a row (models.cases refuses it even below the screens).
    Resource("role_assignment", _l("役割分担"),
             {CO: READ_EXPORT | {CREATE}, CL: READ, SU: READ_EXPORT, AS: READ},
             model=RoleAssignment, personal=True, scope=ViaCase("case_id"),
             text={"note": FREE_TEXT, "designation_reason": FREE_TEXT,
                   "correction_reason": FREE_TEXT}),
    Resource("meeting", _l("会議"), CASE_CONTENT, model=Meeting, personal=True,
             scope=AttendedMeeting(),
             text={"place": FREE_TEXT, "agenda": FREE_TEXT, "minutes": FREE_TEXT,
                   "decisions": FREE_TEXT}),
    Resource("meeting_case", _l("検討ケース"), CASE_CONTENT, model=MeetingCase, personal=True,
             scope=ViaCase("case_id"),
             text={"note": FREE_TEXT, "consent_override_reason": FREE_TEXT}),
    # 様式2/様式3 go to the ministry: their text is masked and checked like case notes.
    Resource("business_plan", _l("事業計画書（様式2）"), {CO: FULL, CL: WRITE, SU: READ_EXPORT},
             model=BusinessPlan, text=every_text_column(BusinessPlan)),
    Resource("annual_report", _l("実施状況報告書（様式3）"), {CO: FULL, CL: WRITE, SU: READ_EXPORT},
             model=AnnualReport, text=every_text_column(AnnualReport)),
    # 様式の出力 (the screen); each file needs EXPORT on every resource it prints
    # (policy.forms.FORM_RESOURCES), the 様式3 preview DETAILS on annual_report.
    Resource("forms", _l("様式の出力（様式1・2・3）"), {CO: READ, CL: READ, SU: READ}),
    # Who may read an address under 住所秘匿 (everyone else sees the mask), and who may confirm
    # a change of the flag (a second coordinator) or override the consent gate.
    Resource("hidden_address", _l("秘匿された住所の閲覧"), {CO: READ}),
    Resource("address_secrecy", _l("住所秘匿の確認（第二の調整担当者）"), {CO: READ | {EDIT}}),
    Resource("consent_override", _l("同意確認の緊急例外"), {CO: frozenset({EDIT})}),
    # Per-case access log ("who saw this case and when").
    Resource("case_access_log", _l("ケースの閲覧記録"), {CO: READ}),
    # 要綱 4(3)③: only a 調整担当者 designates a 主たる支援機関 when the agencies cannot agree.
    Resource("main_support_designation", _l("主たる支援機関の指定（要綱4(3)③）"),
             {CO: frozenset({CREATE})}),
    # In-panel notices: each person reads (and marks read) only their own. システム管理者 gets
    # none: a notice points at case content.
    Resource("notice", _l("お知らせ"), {role: READ | {EDIT} for role in (CO, CL, AS, SU)},
             model=Notice, personal=True, scope=AddressedTo("user_id"),
             text={"place": FREE_TEXT}),
    # Files on a case, meeting or consent: read where the record is read, uploaded by those who
    # write case records, deleted by 調整担当者 only.
    Resource("attachment", _l("添付ファイル"),
             {CO: READ | {CREATE, DELETE}, CL: READ | {CREATE}, SU: READ, AS: READ},
             model=Attachment, personal=True,
             scope=LikeItsRecord({"case_id": "case", "meeting_id": "meeting",
                                  "consent_id": "consent"}),
             text={"filename": FREE_TEXT,
                   "stored_name": Exempt("random name on disk, chosen by the server"),
                   "media_type": Exempt("type found from the content, from a closed list"),
                   "sha256": Exempt("digest of the content, hexadecimal")}),
    # Bringing in the city's existing Excel 台帳 at go-live (screen and command line).
    Resource("ledger_import", _l("台帳の取り込み（Excel）"), {CO: READ | {CREATE}}),
    # Records without a screen of their own.
    Resource("companion", _l("同伴家族"), model=Companion, personal=True,
             scope=ViaWoman("woman_id"),
             text={**ADDRESS_COLUMNS, "name": NAME, "furigana": NAME, "note": FREE_TEXT}),
    Resource("name_search_gram", _l("氏名索引"), model=NameSearchGram, personal=True,
             scope=ViaWoman("woman_id"),
             text={"gram": Exempt("two characters of a folded name, for the index; never shown")}),
    Resource("case_serial", _l("ケース番号の採番"), model=CaseSerial),
    Resource("recovery_code", _l("回復コード"), model=RecoveryCode),
    Resource("plan_cost_line", _l("事業所要額の内訳"), model=PlanCostLine,
             text=every_text_column(PlanCostLine)),
    Resource("report_cost_line", _l("事業実績額の内訳"), model=ReportCostLine,
             text=every_text_column(ReportCostLine)),
]



# ---------------------------------------------------------------- workflow screens
# A screen that shows or writes several resources at once is granted, action by action, to the
# roles that may do it on every one of them: derived, never declared a second time.


def _granted(action: str, names) -> frozenset:
    by_name = {r.name: r for r in _DECLARED}
    roles = [set(role for role, actions in by_name[name].grants.items() if action in actions)
             for name in names]
    return frozenset(set.intersection(*roles))


def _workflow(name: str, label, *, reads=(), writes=()) -> Resource:
    """READ for the roles that may read all of ``reads``; LIST and CREATE for the roles that may
    create all of ``writes`` (LIST lets them reach the screen)."""
    grants: dict[Role, set] = {}
    for role in _granted(DETAILS, reads) if reads else ():
        grants.setdefault(role, set()).update(READ)
    for role in _granted(CREATE, writes) if writes else ():
        grants.setdefault(role, set()).update({LIST, CREATE})
    return Resource(name, label, {role: frozenset(actions) for role, actions in grants.items()})


_DECLARED += [
    # The case page: everything about one case, part by part within the reader's grants.
    _workflow("case_page", _l("ケースのページ"), reads=("case",)),
    # Intake in one flow: the woman (with companions), her consent and the case.
    _workflow("intake", _l("新規受理（女性・同意・ケース）"), writes=("woman", "consent", "case")),
    # 個別ケース検討会議 in one form: the meeting, its cases, 管理記録 and 役割分担.
    _workflow("case_conference", _l("個別ケース検討会議の記録"),
              writes=("meeting", "meeting_case", "case_review", "role_assignment")),
    # 実務者会議 (4(2)イ i): every open case reviewed on one screen.
    _workflow("practitioner_review", _l("実務者会議の進行管理"), writes=("case_review", "meeting")),
    # The role editor of one case: read by whoever reads 役割分担, changed by whoever records it.
    _workflow("role_editor", _l("役割分担の変更"), reads=("role_assignment",),
              writes=("role_assignment",)),
]

RESOURCES: dict[str, Resource] = {resource.name: resource for resource in _DECLARED}
BY_MODEL: dict[type, Resource] = {r.model: r for r in _DECLARED if r.model is not None}


def resource_named(name: str) -> Resource:
    """The declaration of ``name``; a KeyError names an undeclared resource early."""
    return RESOURCES[name]


def resource_of(model_or_record) -> Resource | None:
    """The declaration of a model class or of one of its records; None when undeclared."""
    model = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    return BY_MODEL.get(model)


def free_text_columns(model_or_record) -> tuple[str, ...]:
    resource = resource_of(model_or_record)
    return resource.free_text if resource is not None else ()


# ---------------------------------------------------------------- the start-up check


class DeclarationError(RuntimeError):
    """A resource is missing or half-declared; the message lists every problem."""


PEOPLE_TABLES = ("women", "cases")


def _reaches_people(table, seen=None) -> bool:
    """Whether foreign keys lead from ``table`` to a woman or a case."""
    seen = seen if seen is not None else set()
    if table.name in PEOPLE_TABLES:
        return True
    seen.add(table.name)
    return any(fk.column.table.name not in seen and _reaches_people(fk.column.table, seen)
               for fk in table.foreign_keys)


def problems(declared=None, mappers=None) -> list[str]:
    """Everything wrong with the declarations (empty when all is well)."""
    declared = list(_DECLARED if declared is None else declared)
    mappers = list(db.Model.registry.mappers if mappers is None else mappers)
    by_model = {r.model: r for r in declared if r.model is not None}
    found = []
    names = [r.name for r in declared]
    found += [f"resource {name!r} is declared twice" for name in set(names)
              if names.count(name) > 1]
    for mapper in mappers:
        model, resource = mapper.class_, by_model.get(mapper.class_)
        if _reaches_people(mapper.local_table) and (resource is None or not resource.personal):
            found.append(f"{model.__name__} leads to a woman or a case but is not declared "
                         "as a personal resource in policy/resources.py")
    for resource in declared:
        for role, actions in resource.grants.items():
            unknown = set(actions) - set(ACTIONS)
            if unknown or not isinstance(role, Role):
                found.append(f"{resource.name}: grants unknown {sorted(unknown) or role!r}")
        if resource.model is None:
            continue
        columns = {column.key for column in text_columns(resource.model)}
        found += [f"{resource.name}.{name}: text rule for a column that is not String/Text"
                  for name in resource.text if name not in columns]
        found += [f"{resource.name}.{name}: Exempt needs a reason"
                  for name, rule in resource.text.items()
                  if isinstance(rule, Exempt) and not rule.reason.strip()]
        if resource.personal:
            found += [f"{resource.name}.{name}: a text column of a personal resource must be "
                      "FREE_TEXT, ADDRESS or Exempt(reason)"
                      for name in sorted(columns - set(resource.text))]
            if resource.scope is None:
                found.append(f"{resource.name}: a personal resource needs a scope rule")
    return found


def check(declared=None, mappers=None) -> None:
    """Raise DeclarationError listing every problem; run by create_app at start-up."""
    found = problems(declared, mappers)
    if found:
        raise DeclarationError("policy/resources.py: " + "; ".join(found))
