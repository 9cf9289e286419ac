"""Command-line tasks: ``flask --app kyogikai create-user`` and ``flask --app kyogikai demo-data``."""

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from kyogikai.models import Agency, Role, User, db
from kyogikai.policy.authentication import MIN_PASSWORD_LENGTH, hash_password


def register_cli(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(demo_data)
    app.cli.add_command(backup)
    app.cli.add_command(restore)


@click.command("create-user")
@click.option("--login", "login", required=True, help="ログインID")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="役割")
@click.option("--agency", default=None, help="所属機関名（関係機関担当者は必須）")
@click.option("--display-name", default="", help="表示名")
@click.option("--password-stdin", is_flag=True, help="パスワードを標準入力から読む")
@with_appcontext
def create_user(login, role, agency, display_name, password_stdin):
    """利用者アカウントを作成する。パスワードは標準入力からのみ受け付ける。"""
    if not password_stdin:
        raise click.UsageError("パスワードは --password-stdin を付けて標準入力から渡してください。")
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
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
    user = User(login=login, display_name=display_name or login, role=role,
                agency=agency_row, password_hash=hash_password(password), active=True)
    db.session.add(user)
    db.session.commit()
    click.echo(f"利用者「{login}」（{role.label}）を作成しました。")


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
