"""Personal data in logs: phone numbers are masked, everywhere (RGPD data minimisation)."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

# Any E.164-looking number, or a French national number (0X XX XX XX XX, with or without spaces).
_PHONE_RE = re.compile(r"(?<![\w])(\+\d[\d .-]{7,17}\d|0[1-9](?:[ .-]?\d{2}){4})(?![\w])")


def mask_phone(number: str | None) -> str:
    """Keep the country prefix and the last two digits: +33******45."""
    if not number:
        return "<none>"
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return "***"
    head = "+" + digits[:2] if number.strip().startswith("+") else digits[:2]
    return f"{head}{'*' * (len(digits) - 4)}{digits[-2:]}"


def mask_phones_in(text: str) -> str:
    """Mask every phone number found in free text."""
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


class PhoneMaskingFilter(logging.Filter):
    """A log filter that masks stray phone numbers in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, traceback and stack with numbers masked."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        masked = mask_phones_in(message)
        if masked != message:
            record.msg = masked
            record.args = None
        # An exception's text (a database error, a ValueError quoting its input) can hold a
        # number. Formatter.format() reuses a pre-set exc_text instead of formatting exc_info
        # again, so every handler then prints the masked traceback.
        # https://docs.python.org/3/library/logging.html#logging.Formatter.format
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_phones_in(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_phones_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones_in(record.stack_info)
        return True


def url_origin(url: str) -> str:
    """scheme://host:port of a URL: no user, password, path or query (they may hold secrets)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a malformed port: say nothing rather than echo the raw URL
        port = None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}" if parts.scheme else host
    return f"{origin}:{port}" if port is not None else origin


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Attach the masking filter to every handler of the root (or given) logger."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, PhoneMaskingFilter) for f in handler.filters):
            handler.addFilter(PhoneMaskingFilter())


def display_phone(phone: str, *, full: bool) -> str:
    """A French number grouped as "+33 6 39 98 00 21", or masked as "+33 6 ** ** ** 21"."""
    digits = phone[1:] if phone.startswith("+") else ""
    if not (digits.startswith("33") and len(digits) == 11 and digits.isdigit()):
        return phone if full else mask_phone(phone)
    pairs = [digits[i : i + 2] for i in range(3, 11, 2)]
    if not full:
        pairs = ["**"] * 3 + pairs[-1:]
    return f"+33 {digits[2]} {' '.join(pairs)}"
