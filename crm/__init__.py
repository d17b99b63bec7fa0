"""The investor-enquiry CRM: application factory."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import INSTANCE_DIR, config_for, engine_options
from crm.extensions import csrf, db, limiter, login_manager, mail, migrate
from crm.i18n import init_app as init_i18n


def create_app(config=None):
    """Build the app from a config class (default: the one CRM_ENV names)."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(config or config_for())
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    configure_logging(app)
    register_converters(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_intake_queue(app)
    configure_proxies(app)  # outermost: the fast path sees the client address ProxyFix gives
    return app


def register_template_helpers(app):
    from crm.enquiries.options import SECTORS, TOPICS, country_name, label

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.tests["existing_endpoint"] = lambda endpoint: endpoint in app.view_functions
    app.add_template_filter(lambda code, lang="en": label(SECTORS, code, lang), "sector_label")
    app.add_template_filter(lambda code, lang="en": label(TOPICS, code, lang), "topic_label")
    app.add_template_filter(country_name, "country_name")


def configure_logging(app):
    from crm.core.logs import configure_logging as configure
    from crm.core.logs import register_request_ids

    configure(app)
    register_request_ids(app)


def configure_proxies(app):
    """Trust X-Forwarded-For only for as many hops as CRM_TRUSTED_PROXIES says."""
    hops = app.config["CRM_TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_intake_queue(app):
    """CRM_INTAKE_QUEUE: the API's common case answered in plain WSGI, stored by the worker."""
    if app.config.get("CRM_INTAKE_QUEUE"):
        from crm.enquiries.intake_fast_path import install

        install(app)


def register_converters(app):
    from crm.core.params import register_converters as register

    register(app)


def register_extensions(app):
    from crm.core import models  # noqa: F401  (every model, for Alembic and relationships)
    from crm.staff import auth  # noqa: F401  (registers the user loader)

    # The pool settings, unless the config spells out engine options itself.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config), **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    db.init_app(app)
    with app.app_context():  # SQLite: the intake queue in a file of its own (its own write lock)
        from crm.enquiries.intake_file import attach_to

        attach_to(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    init_i18n(app)


def register_blueprints(app):
    import crm.dashboard.views  # noqa: F401 (adds the dashboard and reports to staff_bp)
    import crm.triage.action_views  # noqa: F401 (adds the enquiry page's actions to staff_bp)
    from crm.assignment.views import bp as assignment_bp
    from crm.enquiries.api import bp as api_bp
    from crm.enquiries.views import bp as public_bp
    from crm.gdpr.audit_views import bp as audit_admin_bp
    from crm.gdpr.public_views import bp as withdrawal_bp
    from crm.gdpr.views import bp as gdpr_admin_bp
    from crm.notifications.views import bp as outbox_admin_bp
    from crm.operations.views import bp as operations_bp
    from crm.staff.account import bp as account_bp
    from crm.staff.admin import bp as admin_users_bp
    from crm.staff.views import bp as auth_bp
    from crm.triage.views import bp as staff_bp

    csrf.exempt(api_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_users_bp)
    app.register_blueprint(outbox_admin_bp)
    app.register_blueprint(operations_bp)
    app.register_blueprint(gdpr_admin_bp)
    app.register_blueprint(withdrawal_bp)
    app.register_blueprint(audit_admin_bp)
    app.register_blueprint(assignment_bp)


def register_errorhandlers(app):
    from crm.core.errors import register

    register(app)


def register_commands(app):
    from crm.assignment import cli as assignment_cli  # noqa: F401  (adds `rule` and `reassign`)
    from crm.cli import crm_group
    from crm.triage import cli as triage_cli  # noqa: F401  (adds `remind`)

    app.cli.add_command(crm_group)


def register_security_headers(app):
    from crm.core.security import add_security_headers

    app.after_request(add_security_headers)
