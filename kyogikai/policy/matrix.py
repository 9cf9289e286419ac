"""The role × action matrix: the only place that answers "may this role ever do this here".

The grants are declared with each resource in ``policy.resources``; this module turns them into
the matrix every view, export and custom screen asks. Anything not granted is denied. Row
scoping (which records of a resource a user may see at all) lives in ``policy.scoping``.
"""

from kyogikai.models.enums import Role
from kyogikai.policy.actions import (  # noqa: F401 (re-exported: views import them from here)
    ACTIONS,
    CREATE,
    DELETE,
    DETAILS,
    EDIT,
    EXPORT,
    FULL,
    LIST,
    READ,
    READ_EXPORT,
    WRITE,
)
from kyogikai.policy.resources import RESOURCES

MATRIX: dict[str, dict[Role, frozenset[str]]] = {
    name: dict(resource.grants) for name, resource in RESOURCES.items() if resource.grants}

# Resources holding case content: every list, read and export of them is audited (rule 7).
PERSONAL_RESOURCES = frozenset(name for name, r in RESOURCES.items() if r.personal)

# What each resource is called on screens, in the printed matrix and in the audit log.
RESOURCE_LABELS = {name: resource.label for name, resource in RESOURCES.items()}


def allowed(role: Role | None, action: str, resource: str) -> bool:
    """Deny by default: unknown resource, unknown role or unlisted action is refused."""
    if role is None or action not in ACTIONS:
        return False
    return action in MATRIX.get(resource, {}).get(role, frozenset())
