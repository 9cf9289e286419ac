"""The role × action matrix: the only place that says which role may do what.

Data, not code: each resource lists, per role, the actions granted. Anything not listed is denied.
Row scoping (which cases a role may see at all) lives in policy.scoping; this module only answers
"may this role ever do this action on this kind of record".
"""

from flask_babel import lazy_gettext as _l

from kyogikai.models.enums import Role

LIST, DETAILS, CREATE, EDIT, DELETE, EXPORT = "list", "details", "create", "edit", "delete", "export"
ACTIONS = (LIST, DETAILS, CREATE, EDIT, DELETE, EXPORT)

READ = frozenset({LIST, DETAILS})
READ_EXPORT = READ | {EXPORT}
WRITE = READ | {CREATE, EDIT}
FULL = frozenset(ACTIONS)

A, CO, CL, AS, SU = Role.admin, Role.coordinator, Role.clerk, Role.agency_staff, Role.supervisor

MATRIX: dict[str, dict[Role, frozenset[str]]] = {
    # Home page: everyone logged in has one.
    "dashboard": {A: READ, CO: READ, CL: READ, AS: READ, SU: READ},
    # Accounts and settings: システム管理者 only (separation of duties).
    "user": {A: FULL - {EXPORT}},
    "council": {A: READ | {EDIT}, CO: READ, CL: READ, SU: READ},
    "agency": {A: FULL - {EXPORT}, CO: READ_EXPORT, CL: READ, SU: READ_EXPORT, AS: READ},
    "member": {A: FULL - {EXPORT}, CO: READ, CL: READ, SU: READ},
    "concern": {A: FULL - {EXPORT}, CO: READ, CL: READ, SU: READ},
    # The audit log: whole log for システム管理者, read-only.
    "audit_event": {A: READ},
    # Case content. システム管理者 sees none of it; 関係機関担当者 reads, and only the rows the
    # scoped query of policy.scoping lets through (their cases, while consent covers them).
    "case": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    "woman": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    "consent": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    "case_review": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    "support_record": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    # 役割分担 is decided at a meeting: the coordinator records it; others read.
    "role_assignment": {CO: FULL, CL: READ, SU: READ_EXPORT, AS: READ},
    "meeting": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    "meeting_case": {CO: FULL, CL: WRITE, SU: READ_EXPORT, AS: READ},
    "business_plan": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "annual_report": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    # Who may read an address under 住所秘匿 (everyone else sees the mask), and who may confirm
    # a change of the flag (a second coordinator) or override the consent gate.
    "hidden_address": {CO: READ},
    "address_secrecy": {CO: READ | {EDIT}},
    "consent_override": {CO: frozenset({EDIT})},
    # Per-case access log ("who saw this case and when").
    "case_access_log": {CO: READ},
    # Bringing in the city's existing Excel 台帳 at go-live (screen and command line).
    "ledger_import": {CO: READ | {CREATE}},
}


# Resources holding case content: every list, read and export of them is audited (rule 7).
PERSONAL_RESOURCES = frozenset({"case", "woman", "companion", "consent", "case_review",
                                "support_record", "role_assignment", "meeting", "meeting_case"})


# What each resource is called on screens, in the printed matrix and in the audit log.
RESOURCE_LABELS = {
    "dashboard": _l("ホーム"),
    "user": _l("利用者アカウント"),
    "council": _l("地域協議会"),
    "agency": _l("関係機関"),
    "member": _l("構成員・担当者"),
    "concern": _l("主訴区分"),
    "audit_event": _l("監査ログ"),
    "case": _l("ケース（台帳）"),
    "woman": _l("支援対象女性・同伴家族"),
    "consent": _l("本人同意"),
    "case_review": _l("管理記録"),
    "support_record": _l("支援経過"),
    "role_assignment": _l("役割分担"),
    "meeting": _l("会議"),
    "meeting_case": _l("検討ケース"),
    "business_plan": _l("事業計画書（様式2）"),
    "annual_report": _l("実施状況報告書（様式3）"),
    "hidden_address": _l("秘匿された住所の閲覧"),
    "address_secrecy": _l("住所秘匿の確認（第二の調整担当者）"),
    "consent_override": _l("同意確認の緊急例外"),
    "case_access_log": _l("ケースの閲覧記録"),
    "companion": _l("同伴家族"),
    "ledger_import": _l("台帳の取り込み（Excel）"),
}


def allowed(role: Role | None, action: str, resource: str) -> bool:
    """Deny by default: unknown resource, unknown role or unlisted action is refused."""
    if role is None or action not in ACTIONS:
        return False
    return action in MATRIX.get(resource, {}).get(role, frozenset())
