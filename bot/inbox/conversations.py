"""Escalated conversations: the list by place and age, the thread, take, reply, hand back, close."""

from __future__ import annotations

from bot.inbox import blueprint  # noqa: F401
