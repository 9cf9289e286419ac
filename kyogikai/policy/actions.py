"""The six actions a role may be granted on a resource, and the usual bundles of them."""

LIST, DETAILS, CREATE, EDIT, DELETE, EXPORT = "list", "details", "create", "edit", "delete", "export"
ACTIONS = (LIST, DETAILS, CREATE, EDIT, DELETE, EXPORT)

READ = frozenset({LIST, DETAILS})
READ_EXPORT = READ | {EXPORT}
WRITE = READ | {CREATE, EDIT}
FULL = frozenset(ACTIONS)
