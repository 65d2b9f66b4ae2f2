"""The advisors' inbox (issue 8): sign-in, sign-out and the list of places with open tickets.

Every page under /inbox needs a signed-in account (Flask-Login); every form carries a CSRF
token (Flask-WTF's CSRFProtect, set up in bot/app.py); failed logins are counted in the
database per email and client address, so the limit holds across processes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request
from flask import session as cookie_session
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response as BaseResponse

from bot import clock
from bot.database import transaction
from bot.runtime import runtime_of
from bot.services.users import (
    Account,
    InvalidCredentials,
    authenticate,
    clear_failures,
    get_account,
    login_attempt_key,
    mask_email,
    record_failure,
    too_many_failures,
)

log = logging.getLogger(__name__)

blueprint = Blueprint(
    "inbox",
    __name__,
    url_prefix="/inbox",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

WRONG_CREDENTIALS = "Adresse ou mot de passe incorrect."
TOO_MANY = "Trop de tentatives de connexion. Réessayez dans quelques minutes."
FORM_EXPIRED = "La page a expiré. Saisissez à nouveau votre adresse et votre mot de passe."
PUBLIC_ENDPOINTS = {"inbox.login"}
MAX_FIELD = 1024  # longer input is cut before hashing: a huge password would only cost CPU


class SignedIn(UserMixin):  # type: ignore[misc]  # flask-login ships no type hints
    """The Flask-Login view of an account."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        """The account id, as Flask-Login keeps it in the session cookie."""
        return str(self.account.id)

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot sign in."""
        return self.account.active


def init_app(app: Flask) -> None:
    """Mount the inbox and its login manager on an app."""
    manager = LoginManager()
    manager.login_view = "inbox.login"
    manager.login_message = "Connectez-vous pour accéder à la boîte de réception."
    manager.login_message_category = "info"

    @manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(user_id: str) -> SignedIn | None:
        if not user_id.isdigit():
            return None
        with transaction(runtime_of(current_app).sessions) as session:
            account = get_account(session, int(user_id))
        return SignedIn(account) if account else None

    manager.init_app(app)
    # The pages of each part register on the blueprint when imported.
    from bot.inbox import agenda, availability, conversations, statistics  # noqa: F401

    app.register_blueprint(blueprint)


@blueprint.before_request
def require_login() -> BaseResponse | None:
    """Every inbox page but the login form needs a signed-in account (deny by default)."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    response: BaseResponse = current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    return response


@blueprint.after_request
def protect_pages(response: Response) -> Response:
    """No caching of personal data, no framing (clickjacking), nothing loaded from elsewhere."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; script-src 'self'; "
        "media-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return response


@blueprint.errorhandler(CSRFError)
def csrf_refused(_error: CSRFError) -> tuple[str, int]:
    """A form without a valid token: refused, and the login form shown again."""
    if current_user.is_authenticated:  # a form of the inbox: nothing was done, say so
        return render_template("inbox_expired.html", section=""), 400
    return render_template("inbox_login.html", error=FORM_EXPIRED, email="", next=""), 400


def safe_next(target: str | None) -> str:
    """Where to go after login: only a local path under /inbox, never another site."""
    default = "/inbox"
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    if parts.path != "/inbox" and not parts.path.startswith("/inbox/"):
        return default
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    """The sign-in form; a generic error whatever went wrong."""
    target = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    if request.method == "GET":
        return render_template("inbox_login.html", error=None, email="", next=target)
    email = request.form.get("email", "")[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    runtime = runtime_of(current_app)
    settings = runtime.settings
    window = timedelta(minutes=settings.login_window_minutes)
    key = login_attempt_key(settings.secret_key, email, request.remote_addr or "")
    now = clock.now()
    account: Account | None = None
    error, status = WRONG_CREDENTIALS, 401
    with transaction(runtime.sessions) as session:
        # Checked before the password, so the right password is refused too once blocked.
        if too_many_failures(session, key, now, limit=settings.login_max_failures, window=window):
            log.warning("inbox login refused, too many failures: %s", mask_email(email))
            error, status = TOO_MANY, 429
        else:
            try:
                account = authenticate(session, email, password, now)
                clear_failures(session, key)
            except InvalidCredentials:
                record_failure(session, key, now, window=window)
                log.info("inbox login failed: %s", mask_email(email))
    if account is None:
        page = render_template("inbox_login.html", error=error, email=email, next=target)
        return page, status
    # A fresh session at sign-in: nothing set before it (by anyone) survives.
    cookie_session.clear()
    login_user(SignedIn(account), remember=False)
    return redirect(target)


@blueprint.post("/logout")
@login_required  # type: ignore[untyped-decorator]
def logout() -> BaseResponse:
    """Sign out (a POST with its CSRF token, so no other site can sign anyone out)."""
    logout_user()
    cookie_session.clear()
    return redirect("/inbox/login")


@blueprint.get("")
@blueprint.get("/")
@login_required  # type: ignore[untyped-decorator]
def home() -> str:
    """Boîte de réception: the open and taken escalations this account sees, by place and age."""
    from bot.inbox.conversations import render_home  # it imports this module

    account: Account = current_user.account
    return render_home(account)
