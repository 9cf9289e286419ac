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
    # Case content. システム管理者 sees none of it; 関係機関担当者 gets rows only through the
    # scoped query of policy.scoping, so none here until that scope exists (deny by default).
    "case": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "woman": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "consent": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "case_review": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "support_record": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    # 役割分担 is decided at a meeting: the coordinator records it; others read.
    "role_assignment": {CO: FULL, CL: READ, SU: READ_EXPORT},
    "meeting": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "meeting_case": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "business_plan": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
    "annual_report": {CO: FULL, CL: WRITE, SU: READ_EXPORT},
}


def allowed(role: Role | None, action: str, resource: str) -> bool:
    """Deny by default: unknown resource, unknown role or unlisted action is refused."""
    if role is None or action not in ACTIONS:
        return False
    return action in MATRIX.get(resource, {}).get(role, frozenset())
