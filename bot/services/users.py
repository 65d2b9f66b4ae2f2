"""Advisors' inbox accounts: creation, password check, failed-login limit, and who sees what.

Passwords are hashed with argon2id (argon2-cffi's PasswordHasher and its RFC 9106 defaults):
https://argon2-cffi.readthedocs.io/en/stable/api.html. An advisor sees only the places they
work for; an admin sees every place.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import CallbackTicket, LoginAttempt, Place, User, UserPlace

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as much as a wrong password and
# response times do not tell which addresses have an account.
_DUMMY_HASH = _hasher.hash("relais-no-such-account")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Length rather than composition rules (NIST SP 800-63B, section 3.1.1.2); 12 characters is
# the CNIL's minimum for a password used alone (délibération 2022-100).
MIN_PASSWORD_LENGTH = 12
OPEN = "open"


class AccountError(Exception):
    """An account cannot be created or used as asked."""


class InvalidEmail(AccountError):
    """Not an email address."""


class EmailTaken(AccountError):
    """An account already uses this email."""


class WeakPassword(AccountError):
    """The password is too short."""


class UnknownPlaces(AccountError):
    """Some place ids are not in the database."""

    def __init__(self, place_ids: list[str]) -> None:
        super().__init__(", ".join(place_ids))
        self.place_ids = place_ids


class NoPlace(AccountError):
    """An advisor who is not an admin needs at least one place."""


class InvalidCredentials(AccountError):
    """Unknown email, wrong password or inactive account: deliberately not told apart."""


@dataclass(frozen=True, slots=True)
class Account:
    """An inbox user as the web layer sees it: no password hash."""

    id: int
    email: str
    is_admin: bool
    active: bool
    place_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """A place an account may see."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class PlaceTickets:
    """A place (None: tickets with no place, admins only) and its open callback tickets."""

    place_id: str | None
    name: str
    open_tickets: int


def normalise_email(email: str) -> str:
    """Trimmed and lower-case, as stored."""
    return email.strip().lower()


def mask_email(email: str) -> str:
    """First letter and domain only, for logs: a***@example.org."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _account(session: Session, user: User) -> Account:
    place_ids = session.scalars(select(UserPlace.place_id).where(UserPlace.user_id == user.id))
    return Account(
        id=user.id,
        email=user.email,
        is_admin=user.is_admin,
        active=user.active,
        place_ids=frozenset(place_ids),
    )


def add_user(
    session: Session,
    email: str,
    password: str,
    place_ids: list[str],
    *,
    is_admin: bool = False,
    now: datetime,
) -> Account:
    """Create an account for these places, its password hashed with argon2id."""
    address = normalise_email(email)
    if len(address) > 254 or not _EMAIL_RE.match(address):
        raise InvalidEmail(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"{MIN_PASSWORD_LENGTH} caractères au moins")
    wanted = list(dict.fromkeys(place_ids))
    if not wanted and not is_admin:
        raise NoPlace(address)
    known = set(session.scalars(select(Place.id).where(Place.id.in_(wanted))))
    missing = [p for p in wanted if p not in known]
    if missing:
        raise UnknownPlaces(missing)
    user = User(
        email=address,
        password_hash=_hasher.hash(password),
        is_admin=is_admin,
        active=True,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:  # the unique email, even under a concurrent insert
        raise EmailTaken(address) from exc
    session.add_all(UserPlace(user_id=user.id, place_id=p) for p in wanted)
    session.flush()
    return _account(session, user)


def authenticate(session: Session, email: str, password: str, now: datetime) -> Account:
    """The account for these credentials, or InvalidCredentials (same work for every failure)."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise InvalidCredentials() from None
    if user is None or not user.active:
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(user.password_hash):  # parameters raised since it was set
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    session.flush()
    log.info("inbox login: %s", mask_email(user.email))
    return _account(session, user)


def get_account(session: Session, user_id: int) -> Account | None:
    """The active account with this id, or None (deleted or deactivated since login)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return _account(session, user)


def can_see_place(account: Account, place_id: str | None) -> bool:
    """Whether this account may see the residents and tickets of a place."""
    return account.is_admin or (place_id is not None and place_id in account.place_ids)


def places_of(session: Session, account: Account) -> list[PlaceRef]:
    """The places an account sees, by name: its own, or all of them for an admin."""
    query = select(Place.id, Place.nom).order_by(Place.nom, Place.id)
    if not account.is_admin:
        query = query.where(Place.id.in_(sorted(account.place_ids)))
    return [PlaceRef(id=row.id, name=row.nom) for row in session.execute(query)]


def open_tickets_per_place(session: Session, account: Account) -> list[PlaceTickets]:
    """Open callback tickets counted per visible place; admins also get those with no place."""
    query = (
        select(CallbackTicket.place_id, func.count())
        .where(CallbackTicket.status == OPEN)
        .group_by(CallbackTicket.place_id)
    )
    counts: dict[str | None, int] = {place_id: n for place_id, n in session.execute(query)}
    rows = [PlaceTickets(p.id, p.name, counts.get(p.id, 0)) for p in places_of(session, account)]
    if account.is_admin and counts.get(None):
        rows.append(PlaceTickets(None, "", counts[None]))
    return rows


# Failed logins -------------------------------------------------------------------------------


def login_attempt_key(secret: str, email: str, client: str) -> str:
    """A keyed hash of email and client address: attempts are counted without storing either."""
    message = f"{normalise_email(email)}\n{client}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def too_many_failures(
    session: Session, key: str, now: datetime, *, limit: int, window: timedelta
) -> bool:
    """True when this key failed `limit` times within the window."""
    recent = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.key == key, LoginAttempt.created_at > now - window)
    )
    return int(recent or 0) >= limit


def record_failure(session: Session, key: str, now: datetime, *, window: timedelta) -> None:
    """Count one failed login, and forget every failure older than the window."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.created_at <= now - window))
    session.add(LoginAttempt(key=key, created_at=now))
    session.flush()


def clear_failures(session: Session, key: str) -> None:
    """Forget this key's failures after a successful login."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))
