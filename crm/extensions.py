"""Extensions, created unbound; create_app binds them."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from crm.core import ratelimits  # noqa: F401  (memory:// without a thread per hit)
from crm.core.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
mail = Mail()
csrf = CSRFProtect()
# The client address is request.remote_addr; ProxyFix rewrites it only for trusted proxies.
limiter = Limiter(key_func=get_remote_address)
