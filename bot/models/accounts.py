"""Advisors' inbox accounts, the places each one works for, and failed logins (revision 0005)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.core import Base, UtcDateTime


class User(Base):
    """A person who signs in to the advisors' inbox. The email is stored lower-case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # An argon2id hash in PHC format ("$argon2id$v=19$m=..."), never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UserPlace(Base):
    """One place an advisor works for: they see its residents and tickets."""

    __tablename__ = "user_places"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    place_id: Mapped[str] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LoginAttempt(Base):
    """A failed login, counted to slow down password guessing (kept for the window only).

    `key` is a keyed hash of the email and the client address, not the email itself: the table
    holds no personal data in clear.
    """

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
