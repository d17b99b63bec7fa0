"""Entry point for gunicorn: `gunicorn -w 4 wsgi:app`."""

from crm import create_app

app = create_app()
