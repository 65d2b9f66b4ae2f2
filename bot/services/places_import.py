"""Import lieux de médiation numérique (national standard, CSV or JSON) into the places table.

Rows are checked against the schema file (see `places_schema`); a bad row is reported with its
line and field and the others are still imported. Same `id` means the same place: re-importing
updates it in place, so importing twice never duplicates. Places missing from a file are kept.
Older 0.1.x exports are read through a map of renamed columns, their values without a v1.0.2
equivalent dropped with a warning; `horaires` that opening_hours cannot read leave the place
without hours (a warning), since its address and phone still help a resident.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Place, Workshop
from bot.services.opening_hours import is_valid_horaires
from bot.services.places_schema import (
    DATA_DIR,
    LEGACY_COLUMNS,
    LEGACY_SPLIT_COLUMNS,
    PlacesSchema,
    clean_row,
    load_schema,
)

logger = logging.getLogger(__name__)

DEMO_PLACES_PATH = DATA_DIR / "lieux-mediation-numerique-demo.csv"
DEMO_WORKSHOPS_PATH = DATA_DIR / "demo-workshops.json"

# Keys under which JSON exports (and GeoJSON) hold their list of places.
_JSON_LIST_KEYS = ("data", "lieux", "places", "features", "items", "results")
_SNIFF_BYTES = 4096


class PlacesFileError(Exception):
    """The file cannot be read as a places export at all (the CLI translates the message)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One reason a row was not imported: line (CSV, header = 1) or position (JSON, from 1)."""

    line: int
    field: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    legacy_format: bool = False
    schema_version: str = ""

    @property
    def rejected_lines(self) -> list[int]:
        """Lines with at least one rejection, in order."""
        return sorted({rejection.line for rejection in self.rejected})


@dataclass(slots=True)
class _RawRow:
    """One row as read from the file, before any checks."""

    line: int
    values: dict[str, object]
    problem: str | None = None  # the row cannot be read field by field
    note: str | None = None  # the row was read after a repair worth reporting


@dataclass(slots=True)
class _Table:
    """Column names of a file and its rows."""

    columns: list[str]
    rows: Iterator[_RawRow]


@dataclass(slots=True)
class _ColumnPlan:
    """Which file column feeds which field of the standard."""

    sources: dict[str, str]  # field or legacy split column -> file column
    ignored: list[str]
    legacy: bool


def _column_name(raw: str) -> str:
    return raw.strip().lstrip("\ufeff").strip().lower()


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PlacesFileError(f"cannot read {path}: {error.strerror or error}") from error
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise PlacesFileError(
            f"{path.name} is not a text file (an Excel workbook?); export it as CSV or JSON"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PlacesFileError(
            f"{path.name} is not UTF-8 text (byte {error.start}); save it as 'CSV UTF-8'"
        ) from error
    if not text.strip():
        raise PlacesFileError(f"{path.name} is empty")
    return text


def _csv_delimiter(header_line: str) -> str:
    """Comma or semicolon, whichever splits the header into more columns."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _fit_cells(
    columns: list[str], cells: list[str], delimiter: str
) -> tuple[list[str], str | None]:
    """Cells matching the header, mending an unquoted separator inside `horaires`.

    OSM hours are full of commas ("Mo,We 09:00-12:00", "Sa[1,3]"), and hand-made exports often
    leave them unquoted; the joined cells are taken only if they then read as valid hours.
    Raises ValueError when the row cannot be made to fit.
    """
    extra = len(cells) - len(columns)
    if extra <= 0:
        return cells, None
    if "horaires" in columns:
        at = columns.index("horaires")
        joined = delimiter.join(cells[at : at + extra + 1])
        if is_valid_horaires(joined):
            mended = [*cells[:at], joined, *cells[at + extra + 1 :]]
            return mended, f"unquoted '{delimiter}' in horaires, read as '{joined}'"
    if not any(cell.strip() for cell in cells[len(columns) :]):
        return cells[: len(columns)], None  # trailing separators
    raise ValueError(f"{len(cells)} values for {len(columns)} columns (unquoted separator?)")


def _read_csv(text: str) -> _Table:
    delimiter = _csv_delimiter(text.lstrip().splitlines()[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(cells for cells in reader if any(cell.strip() for cell in cells))
    except csv.Error as error:
        raise PlacesFileError(f"the CSV header cannot be read: {error}") from error
    columns = [_column_name(name) for name in header]

    def rows() -> Iterator[_RawRow]:
        line = reader.line_num + 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield _csv_row(line, columns, cells, delimiter)
                line = reader.line_num + 1
        except csv.Error as error:
            raise PlacesFileError(f"CSV line {line} cannot be read: {error}") from error

    return _Table(columns=columns, rows=rows())


def _csv_row(line: int, columns: list[str], cells: list[str], delimiter: str) -> _RawRow:
    try:
        cells, note = _fit_cells(columns, cells, delimiter)
    except ValueError as error:
        return _RawRow(line, {}, problem=str(error))
    values: dict[str, object] = {}
    for name, cell in zip(columns, cells, strict=False):
        values.setdefault(name, cell)  # a repeated column: the first one counts
    return _RawRow(line, values, note=note)


def _json_records(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in _JSON_LIST_KEYS:
            if isinstance(document.get(key), list):
                return list(document[key])
        lists = [value for value in document.values() if isinstance(value, list)]
        if len(lists) == 1:
            return lists[0]
    raise PlacesFileError("the JSON must be a list of places, or an object holding such a list")


def _from_geojson(record: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature's properties, with its point as latitude/longitude if they are missing."""
    flat = dict(record.get("properties") or {})
    coordinates = (record.get("geometry") or {}).get("coordinates")
    if isinstance(coordinates, list) and len(coordinates) == 2:
        flat.setdefault("longitude", coordinates[0])
        flat.setdefault("latitude", coordinates[1])
    return flat


def _read_json(text: str) -> _Table:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlacesFileError(f"invalid JSON at line {error.lineno}: {error.msg}") from error
    records = _json_records(document)
    flat: list[object] = []
    columns: dict[str, None] = {}
    for record in records:
        if isinstance(record, dict):
            if record.get("type") == "Feature":
                record = _from_geojson(record)
            record = {_column_name(str(key)): value for key, value in record.items()}
            columns.update(dict.fromkeys(record))
        flat.append(record)

    def rows() -> Iterator[_RawRow]:
        for position, record in enumerate(flat, start=1):
            if isinstance(record, dict):
                yield _RawRow(position, record)
            else:
                yield _RawRow(position, {}, problem="not an object")

    return _Table(columns=list(columns), rows=rows())


def _read_table(path: Path) -> _Table:
    """Open a CSV (comma or semicolon) or JSON export; raise PlacesFileError if it is neither."""
    text = _read_text(path)
    looks_like_json = text.lstrip()[:1] in ("[", "{")
    if path.suffix.lower() in (".json", ".geojson") or looks_like_json:
        return _read_json(text)
    return _read_csv(text)


def _plan_columns(schema: PlacesSchema, columns: list[str]) -> _ColumnPlan:
    """Match file columns to fields, mapping 0.1.x names; the rest are ignored."""
    present = set(columns)
    legacy = any(name in LEGACY_COLUMNS or name in LEGACY_SPLIT_COLUMNS for name in columns)
    sources: dict[str, str] = {}
    ignored: list[str] = []
    for name in dict.fromkeys(columns):
        target: str | None
        if name in schema.names:
            target = name
        elif name in LEGACY_SPLIT_COLUMNS:
            # A file that also has the v1.0 columns keeps those.
            target = None if present.intersection(LEGACY_SPLIT_COLUMNS[name]) else name
        else:
            target = LEGACY_COLUMNS.get(name)
            if target in present:
                target = None
        if target is None or target in sources:
            ignored.append(name)
        else:
            sources[target] = name
    return _ColumnPlan(sources=sources, ignored=ignored, legacy=legacy)


def _upsert(
    session: Session, known: dict[str, Place], values: dict[str, Any], now: datetime
) -> str:
    """Create or update one place; returns "created", "updated" or "unchanged"."""
    place = known.get(values["id"])
    if place is None:
        place = Place(**values, imported_at=now)
        session.add(place)
        known[place.id] = place
        return "created"
    if all(getattr(place, name) == value for name, value in values.items()):
        return "unchanged"
    for name, value in values.items():
        setattr(place, name, value)
    place.imported_at = now
    return "updated"


def import_places(session: Session, path: Path, now: datetime) -> ImportReport:
    """Import a places file; idempotent on `id`. Flushes, never commits."""
    if now.tzinfo is None:
        raise ValueError("import_places() needs an aware datetime")
    schema = load_schema()
    table = _read_table(path)
    plan = _plan_columns(schema, table.columns)
    if schema.primary_key not in plan.sources:
        raise PlacesFileError(f"{path.name} has no '{schema.primary_key}' column")
    report = ImportReport(
        ignored_columns=plan.ignored, legacy_format=plan.legacy, schema_version=schema.version
    )
    known = {place.id: place for place in session.scalars(select(Place))}
    first_line: dict[str, int] = {}
    dropped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for raw in table.rows:
        line = raw.line
        if raw.problem is not None:
            report.rejected.append(Rejection(line, "(row)", raw.problem))
            continue
        record = {target: raw.values.get(source) for target, source in plan.sources.items()}
        row = clean_row(schema, record, legacy=plan.legacy)
        place_id = str(row.values.get(schema.primary_key) or "")
        if place_id in first_line:
            row.problems.append(("id", f"duplicate id, first seen on line {first_line[place_id]}"))
        if row.problems:
            report.rejected.extend(Rejection(line, name, reason) for name, reason in row.problems)
            continue
        first_line[place_id] = line
        notes = [raw.note] if raw.note else []
        report.warnings.extend(f"line {line}: {note}" for note in [*notes, *row.warnings])
        for name, value in row.dropped:
            dropped[(plan.sources.get(name, name), value)].append(line)
        outcome = _upsert(session, known, row.values, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.warnings.extend(_dropped_warnings(dropped))
    session.flush()
    return report


def _dropped_warnings(dropped: dict[tuple[str, str], list[int]]) -> list[str]:
    """One warning per 0.1.x value with no v1.0.2 equivalent, listing a few lines."""
    warnings = []
    for (column, value), lines in dropped.items():
        shown = ", ".join(map(str, lines[:5])) + (", ..." if len(lines) > 5 else "")
        warnings.append(f"{column}: '{value}' has no equivalent in v1.0.2, dropped (lines {shown})")
    return warnings


def load_demo_workshops(session: Session, path: Path = DEMO_WORKSHOPS_PATH) -> list[Workshop]:
    """Create or update the demo's workshops (keyed by place and title); skips absent places."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["workshops"]
    except (OSError, ValueError, KeyError) as error:
        raise PlacesFileError(f"cannot read workshops from {path}: {error}") from error
    existing = {(w.place_id, w.title): w for w in session.scalars(select(Workshop))}
    loaded: list[Workshop] = []
    for entry in entries:
        if session.get(Place, entry["place_id"]) is None:
            logger.warning("workshop for unknown place %s skipped", entry["place_id"])
            continue
        if not is_valid_horaires(entry["schedule"]):
            raise PlacesFileError(f"workshop schedule {entry['schedule']!r} is not opening_hours")
        # Rotating themes share one weekly session, hence one row whose title lists them.
        title = " ; ".join(entry["titles"])
        workshop = existing.get((entry["place_id"], title))
        if workshop is None:
            workshop = Workshop(place_id=entry["place_id"], title=title)
            session.add(workshop)
            existing[(workshop.place_id, title)] = workshop
        workshop.schedule = entry["schedule"]
        workshop.seats = entry.get("seats")
        workshop.audience = entry.get("audience")
        workshop.registration = bool(entry.get("registration", True))
        loaded.append(workshop)
    session.flush()
    return loaded
