"""The role × action matrix: the only place that says which role may do what.

Data, not code: each resource lists, per role, the actions granted. Anything not listed is denied.
Row scoping (which cases a role may see at all) lives in policy.scoping; this module only answers
"may this role ever do this action on this kind of record".
"""

from models.enums import Role

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
}


# Resources holding case content: every list, read and export of them is audited (rule 7).
PERSONAL_RESOURCES = frozenset({"case", "woman", "companion", "consent", "case_review",
                                "support_record", "role_assignment", "meeting", "meeting_case"})


def allowed(role: Role | None, action: str, resource: str) -> bool:
    """Deny by default: unknown resource, unknown role or unlisted action is refused."""
    if role is None or action not in ACTIONS:
        return False
    return action in MATRIX.get(resource, {}).get(role, frozenset())
