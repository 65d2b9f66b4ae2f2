"""Helpers for the places tests: a temp SQLite database and files derived from the demo CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.clock import PARIS
from bot.models import Base, Place
from bot.services.places_import import DEMO_PLACES_PATH
from bot.services.places_schema import load_schema

IMPORTED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
DEMO_PLACE_COUNT = 13


@contextmanager
def temp_session(directory: Path) -> Iterator[Session]:
    """A session on a fresh SQLite file with every table created; closed and disposed after."""
    engine = create_engine(f"sqlite:///{directory / 'places.sqlite'}")
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def demo_lines() -> list[str]:
    """The demo CSV as text lines; index 0 is the header (file line 1)."""
    return DEMO_PLACES_PATH.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write CSV lines to a file and return its path."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def demo_with_line_changed(path: Path, line: int, old: str, new: str) -> Path:
    """The demo CSV with one substring of one file line (header = 1) replaced."""
    lines = demo_lines()
    assert old in lines[line - 1], f"{old!r} not on line {line}"
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return write_lines(path, lines)


def _standard_value(value: Any) -> Any:
    if isinstance(value, list):
        return "|".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def exported_records(session: Session) -> list[dict[str, Any]]:
    """Every stored place as a record of the standard (multi-valued fields joined with `|`)."""
    names = list(load_schema().fields)
    places = session.scalars(select(Place).order_by(Place.id))
    return [{name: _standard_value(getattr(place, name)) for name in names} for place in places]


def write_json(path: Path, document: Any) -> Path:
    """Write a JSON document and return its path."""
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def write_semicolon_csv_with_bom(path: Path, records: list[dict[str, Any]]) -> Path:
    """Write records as an Excel-style CSV: semicolons and a UTF-8 byte order mark."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(records)
    return path


def stored_places(session: Session) -> dict[str, dict[str, Any]]:
    """Every stored place's fields of the standard, by id."""
    return {record["id"]: record for record in exported_records(session)}
