"""困難な問題を抱える女性支援 地域協議会 ケース管理システム: ``flask --app kyogikai`` finds create_app."""

from kyogikai.app import create_app

__all__ = ["create_app"]
