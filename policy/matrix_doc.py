"""The role × action matrix as a Markdown table, for docs/access-matrix.md."""

from models.enums import Role
from policy.matrix import ACTIONS, MATRIX

ACTION_LABELS = {"list": "一覧", "details": "詳細", "create": "作成", "edit": "編集",
                 "delete": "削除", "export": "出力"}
RESOURCE_LABELS = {
    "dashboard": "ホーム", "user": "利用者アカウント", "council": "地域協議会", "agency": "関係機関",
    "member": "構成員・担当者", "concern": "主訴区分", "audit_event": "監査ログ",
    "case": "ケース（台帳）", "woman": "支援対象女性・同伴家族", "consent": "本人同意",
    "case_review": "管理記録", "support_record": "支援経過", "role_assignment": "役割分担",
    "meeting": "会議", "meeting_case": "検討ケース", "business_plan": "事業計画書（様式2）",
    "annual_report": "実施状況報告書（様式3）", "hidden_address": "秘匿された住所の閲覧",
    "address_secrecy": "住所秘匿の確認（第二の調整担当者）",
    "consent_override": "同意確認の緊急例外", "case_access_log": "ケースの閲覧記録",
}


def markdown() -> str:
    roles = list(Role)
    lines = [
        "# アクセス権限表（role × action）",
        "",
        "Generated from `policy/matrix.py` by `python -m policy.matrix_doc > docs/access-matrix.md`;",
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
        lines.append(f"| {RESOURCE_LABELS.get(resource, resource)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
