"""Error pages in the site's layout, JSON errors under /api, and never any internals."""

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from crm.extensions import db


def wants_json():
    return request.path.startswith("/api/")


def _json_error(code, error, **extra):
    response = jsonify({"error": error, **extra})
    response.status_code = code
    return response


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, title=_("The form has expired"),
                               detail=_("Please go back, reload the page and try again.")), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = error.code or 500
        if wants_json():
            response = _json_error(code, error.name.lower().replace(" ", "_"))
        else:
            response = app.make_response((
                render_template("errors/error.html", code=code, title=error.name,
                                detail=error.description if code < 500 else None),
                code,
            ))
        # Keep headers such as Retry-After (429) and Allow (405).
        for key, value in error.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error):
        # Roll back whatever the failed request started and show nothing of it.
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return http_error(InternalServerError())
