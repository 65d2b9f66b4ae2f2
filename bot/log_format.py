"""Structured logs: one JSON object per line (RELAIS_LOG_FORMAT=json), for log collectors.

The phone-masking filter (bot/privacy.py) runs on every handler before formatting, so the
message and the traceback written here are already masked.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON for one record."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)
