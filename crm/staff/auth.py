"""Flask-Login wiring: a request's user is whoever owns the live server-side session."""

from datetime import timedelta

from flask import current_app, session

from crm.core.params import parse_int
from crm.extensions import login_manager
from crm.staff.sessions import resume_session

# The Flask session key that holds the server-side session's token.
SESSION_TOKEN_KEY = "staff_session"  # noqa: S105 (a key name, not a secret)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see this page."
login_manager.login_message_category = "info"
# The server-side session record does the real work; "basic" only marks a changed client non-fresh.
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id):
    user_id = parse_int(user_id)
    if user_id is None:
        return None
    config = current_app.config
    return resume_session(
        user_id, session.get(SESSION_TOKEN_KEY),
        idle=timedelta(minutes=config["CRM_SESSION_IDLE_MINUTES"]),
        max_age=timedelta(hours=config["CRM_SESSION_MAX_HOURS"]),
    )
