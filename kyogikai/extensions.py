"""Flask extensions, created unbound and attached in create_app() with init_app().

Flask-Babel is not here: create_app makes one per app (see there)."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from kyogikai.models.base import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()

__all__ = ["csrf", "db", "login_manager", "migrate"]
