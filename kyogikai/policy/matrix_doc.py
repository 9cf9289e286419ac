"""The role × action matrix as a Markdown table, for docs/access-matrix.md."""

from kyogikai.models.enums import Role
from kyogikai.policy.matrix import ACTIONS, MATRIX, RESOURCE_LABELS

ACTION_LABELS = {"list": "一覧", "details": "詳細", "create": "作成", "edit": "編集",
                 "delete": "削除", "export": "出力"}


def markdown() -> str:
    roles = list(Role)
    lines = [
        "# アクセス権限表（role × action）",
        "",
        "Generated from the grants declared in `kyogikai/policy/resources.py` by",
        "`python -m kyogikai.policy.matrix_doc > docs/access-matrix.md`;",
        "a test fails when this file and the code disagree. Anything not listed is denied.",
        "関係機関担当者 see only the rows `policy/scoping.py` lets through (their agency holds a",
        "current role or attends a meeting about the case, and a valid consent covers it).",
        "",
        "| 対象 | " + " | ".join(str(role.label) for role in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for resource, grants in MATRIX.items():
        cells = []
        for role in roles:
            actions = [ACTION_LABELS[a] for a in ACTIONS if a in grants.get(role, ())]
            cells.append("・".join(actions) if actions else "―")
        lines.append(f"| {RESOURCE_LABELS.get(resource, resource)!s} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
