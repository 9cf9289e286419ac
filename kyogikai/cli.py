"""Command-line tasks: ``flask --app kyogikai create-user`` and ``flask --app kyogikai demo-data``."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from kyogikai.models import Agency, ApprovalReason, AuditAction, AuditOutcome, Role, User, db
from kyogikai.policy import accounts, audit, sealing
from kyogikai.policy.authentication import hash_password
from kyogikai.policy.passwords import password_problems


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(demo_data)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(import_ledger)
    app.cli.add_command(export)
    app.cli.add_command(notices_cli)
    app.cli.add_command(reseal_totp)


@click.command("create-user")
@click.option("--login", "login", required=True, help="ログインID")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="役割")
@click.option("--agency", default=None, help="所属機関名（関係機関担当者は必須）")
@click.option("--display-name", default="", help="表示名")
@click.option("--password-stdin", is_flag=True, help="パスワードを標準入力から読む")
@with_appcontext
def create_user(login, role, agency, display_name, password_stdin):
    """利用者アカウントを作成する。パスワードは標準入力からのみ受け付ける。

    ケースの内容を閲覧できる役割のアカウントは、調整担当者の承認後に使えるようになる。
    ただし、承認済みの調整担当者がまだいないときの調整担当者（導入時の最初の1人）は、
    作成と同時に使える。
    """
    if not password_stdin:
        raise click.UsageError("パスワードは --password-stdin を付けて標準入力から渡してください。")
    password = sys.stdin.readline().rstrip("\r\n")
    problems = password_problems(password, login, (display_name,))
    if problems:
        raise click.UsageError("パスワードを受け付けられません: " + " ".join(problems))
    role = Role(role)
    if db.session.scalar(select(User).where(User.login == login)):
        raise click.UsageError(f"ログインID「{login}」は既に使われています。")
    agency_row = None
    if agency:
        agency_row = db.session.scalar(select(Agency).where(Agency.name == agency))
        if agency_row is None:
            raise click.UsageError(f"関係機関「{agency}」が見つかりません。")
    elif role is Role.agency_staff:
        raise click.UsageError("関係機関担当者には --agency で所属機関を指定してください。")
    first_coordinator = role is Role.coordinator and accounts.may_bootstrap_coordinator()
    user = User(login=login, display_name=display_name or login, role=role,
                agency=agency_row, password_hash=hash_password(password), active=True)
    db.session.add(user)
    if not first_coordinator:
        accounts.request_approval(user, ApprovalReason.created, requested_by=None)
    db.session.commit()
    click.echo(f"利用者「{login}」（{role.label}）を作成しました。")
    if first_coordinator:
        click.echo("承認済みの調整担当者がいなかったため、最初の調整担当者としてすぐに使えます。")
    elif user.approval_pending is not None:
        click.echo("ケースの内容を閲覧できる役割のため、調整担当者が「アカウントの承認」で承認するまで"
                   "ログインできません。")


@click.command("demo-data")
@click.option("--force", is_flag=True, help="ケースが既にあるデータベースにも追加する")
@click.option("--seed", default=20250401, show_default=True, help="乱数の種（同じ種なら同じデータ）")
@with_appcontext
def demo_data(force, seed):
    """架空のデモデータを投入し、役割ごとのデモ用ログインを表示する。"""
    from kyogikai.demo import has_case_data, load_demo_data

    if has_case_data() and not force:
        raise click.ClickException(
            "このデータベースには既にケースがあります。デモデータは投入しませんでした"
            "（追加する場合は --force を付けてください）。"
        )
    if db.session.scalar(select(func.count()).select_from(User)) and not force:
        raise click.ClickException(
            "このデータベースには既に利用者がいます。デモデータは投入しませんでした"
            "（追加する場合は --force を付けてください）。"
        )
    logins = load_demo_data(seed=seed)
    click.echo("架空のデモデータを投入しました。デモ用ログイン（役割ごとに1つ）:")
    for line in logins:
        click.echo("  " + line)


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="書き出すバックアップファイル（既存のファイルには書きません）")
@with_appcontext
def backup(out):
    """データベースと添付ファイルをバックアップする（運用中でも可。鍵があれば暗号化）。"""
    from kyogikai.ops.backup import BackupError, create_backup, load_key

    try:
        key = load_key()
        manifest = create_backup(out, key)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    rows = sum(manifest.tables.values())
    click.echo(f"バックアップを作成しました: {out}（{len(manifest.tables)}表・{rows}行、"
               f"{'暗号化あり' if key else '暗号化なし'}、版 {','.join(manifest.revision) or 'なし'}）")
    if not key:
        click.echo("注意: 暗号鍵（BACKUP_KEY_FILE）が未設定のため、暗号化していません。", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore(file):
    """バックアップを空のデータベースに復元し、このプログラムの版まで移行する。"""
    from flask_migrate import upgrade

    from kyogikai.ops.backup import BackupError, load_key, restore_backup
    from kyogikai.ops.health import head_revisions

    try:
        manifest = restore_backup(file, load_key())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"復元しました: {manifest.data['created_at']} のバックアップ"
               f"（{len(manifest.tables)}表・{sum(manifest.tables.values())}行、"
               "チェックサムと行数を確認済み）。")
    if set(manifest.revision) != head_revisions():
        upgrade()
        click.echo("データベースをこのプログラムの版へ移行しました（db upgrade）。")


@click.command("import-ledger")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "login", required=True, help="取り込む調整担当者のログインID（監査記録に残ります）")
@click.option("--sheet", default=None, help="シート名（省略時は見出しのある最初のシート）")
@click.option("--layout", type=click.Choice(["auto", "flat", "yoshiki1"]), default="auto",
              show_default=True, help="flat: 1ケース1行、yoshiki1: 様式1（1ケース3行）")
@click.option("--map", "mappings", multiple=True, metavar="項目=列",
              help="列の対応付けを変える（例: --map フリガナ=C、--map 備考=-）。繰り返し可")
@click.option("--create-agencies", is_flag=True, help="未登録の関係機関を「その他」区分で新規登録する")
@click.option("--link-existing", is_flag=True,
              help="同じ氏名・生年月日の女性を同一人物として既存の記録に紐付ける")
@click.option("--dry-run", is_flag=True, help="検証と報告だけを行い、何も書き込まない")
@click.option("--yes", is_flag=True, help="確認せずに取り込む")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="取り込まなかった行の一覧を CSV（Excel 用 UTF-8）で書き出す")
@with_appcontext
def import_ledger(file, login, sheet, layout, mappings, create_agencies, link_existing, dry_run,
                  yes, report_path):
    """既存の Excel 台帳（様式1 または 1ケース1行）を検証し、一括で取り込む（全件か無か）。"""
    from kyogikai.imports import service
    from kyogikai.policy.matrix import CREATE, allowed

    user = db.session.scalar(select(User).where(User.login == login))
    if user is None or not user.is_active or not allowed(user.role, CREATE, "ledger_import"):
        raise click.UsageError("台帳を取り込めるのは有効な調整担当者のアカウントだけです（--user）。")
    data = file.read_bytes()
    try:
        prepared = service.prepare(data, sheet_name=sheet,
                                   layout=None if layout == "auto" else layout,
                                   mapping=service.parse_cli_mapping(mappings))
        plan = service.plan(prepared, create_agencies=create_agencies,
                            link_existing=link_existing)
        preview = service.run(plan, user, data, commit=False)
    except service.ImportRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo(service.describe_mapping(prepared))
    click.echo(service.describe_preview(prepared, plan))
    click.echo(service.describe_result(preview, committed=False))
    if report_path:
        service.write_report_csv(preview, report_path)
        click.echo(f"取り込まなかった行の一覧: {report_path}")
    if dry_run or not preview.cases:
        if not preview.cases:
            click.echo("取り込める行がありません。何も書き込みませんでした。")
        return
    if not yes and not click.confirm("この内容で取り込みますか？", default=False):
        click.echo("取り込みを中止しました。何も書き込みませんでした。")
        return
    result = service.run(plan, user, data, commit=True)
    click.echo(service.describe_result(result, committed=True))


@click.command("export")
@click.argument("form", type=click.Choice(["form1", "form2", "form3"]))
@click.option("--fiscal-year", type=click.IntRange(1989, 2200), required=True,
              help="年度（西暦の開始年。例: 2025 は令和7年度）")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "pdf"]), default="xlsx",
              show_default=True, help="出力形式")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="出力先のファイル（既にあれば上書き）")
@click.option("--user", "login", required=True,
              help="出力する利用者のログインID（その役割の権限・範囲・秘匿で出力し、監査記録に残ります）")
@click.option("--reference-date", default=None, help="様式1の年齢の基準日（既定は今日。例: 2026-03-31）")
@with_appcontext
def export(form, fiscal_year, fmt, out, login, reference_date):
    """様式1・2・3（ケース進行管理台帳・事業計画書・実施状況報告書）を1年度分出力する。"""
    from kyogikai.exports import forms
    from kyogikai.japanese.wareki import WarekiError, parse_date

    # No anonymous export: the file is made for an account, within its rights, scope and
    # masking, and the audit log names it.
    user = db.session.scalar(select(User).where(User.login == login))
    if user is None or not user.is_active:
        raise click.UsageError(f"有効な利用者「{login}」が見つかりません（--user）。")
    day = None
    if reference_date:
        try:
            day = parse_date(reference_date)
        except WarekiError as error:
            raise click.UsageError(f"--reference-date: {error}") from None
    try:
        if form == "form1":
            made = forms.form1_year(fiscal_year, user=user, fmt=fmt, reference_date=day,
                                    via="cli")
        else:
            made = getattr(forms, form)(fiscal_year, user=user, fmt=fmt, via="cli")
    except (forms.ExportRefused, forms.PdfUnavailable) as error:
        raise click.ClickException(str(error)) from None
    with open(out, "wb") as fh:
        fh.write(made.data)
    click.echo(f"{made.filename} を {out} に出力しました（{made.rows}件）。")


@click.group("notices")
def notices_cli():
    """お知らせ（画面内の通知）。"""


@notices_cli.command("sweep")
@with_appcontext
def notices_sweep():
    """期限切れになった本人同意を調整担当者に知らせる（毎日 cron 等で実行）。

    ホーム画面やお知らせ一覧を開いたときにも同じ確認が行われます。同じ同意について同じ人に
    二度知らせることはありません。
    """
    from kyogikai.policy import notices

    told = notices.sweep_expired()
    click.echo(f"期限切れの本人同意のお知らせを {told} 件作成しました。")


@click.command("reseal-totp")
@with_appcontext
def reseal_totp():
    """二要素認証の秘密を、現在の鍵（TOTP_KEY、未設定なら SECRET_KEY）で封印し直す。

    鍵を替える手順: 古い鍵を TOTP_KEY_PREVIOUS に、新しい鍵を TOTP_KEY に設定して再起動し、
    このコマンドを実行する。すべて封印し直せたら TOTP_KEY_PREVIOUS を外して再起動する。
    """
    # Locked until the commit (PostgreSQL): a reset or enrolment meanwhile waits for it.
    users = db.session.scalars(select(User).where(User.totp_secret_sealed.is_not(None))
                               .order_by(User.id).with_for_update()).all()
    unreadable = []
    for user in users:
        resealed = sealing.reseal(user.totp_secret_sealed, current_app.config)
        if resealed is None:
            unreadable.append(user.login)
        else:
            user.totp_secret_sealed = resealed
    done = len(users) - len(unreadable)
    audit.record(AuditAction.second_factor, with_change=True, object_type="user",
                 outcome=AuditOutcome.failure if unreadable else AuditOutcome.success,
                 detail=f"resealed;accounts={done};unreadable={len(unreadable)}")
    try:
        db.session.commit()
    except StaleDataError:  # an account changed since it was read (SQLite has no row locks)
        db.session.rollback()
        raise click.ClickException("実行中に利用者のアカウントが変更されたため、何も変更していません。"
                                   "もう一度実行してください。") from None
    click.echo(f"二要素認証の秘密 {done}件を現在の鍵で封印し直しました。")
    if unreadable:
        raise click.ClickException(
            f"{len(unreadable)}件はどの鍵でも開けず、そのままにしました（{'、'.join(unreadable)}）。"
            "古い鍵を TOTP_KEY_PREVIOUS に設定して再実行するか、これらの利用者はリカバリーコードで"
            "ログインし、二要素認証を設定し直してください。")
