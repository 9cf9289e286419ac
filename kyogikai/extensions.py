"""Flask extensions, created unbound and attached in create_app() with init_app()."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from kyogikai.models.base import db

migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()

__all__ = ["babel", "csrf", "db", "login_manager", "migrate"]
