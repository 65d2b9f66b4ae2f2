"""The national standard for lieux de médiation numérique: its table schema and row checks.

Constraints are read from the frictionless table schema in `bot/data/`
(https://github.com/LaMednum/standard-mediation-num), so a new version of the standard is a new
JSON file rather than new code. Multi-valued fields (`a|b|c`) whose pattern lists the allowed
values are checked value by value so that a rejection names the unknown value.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String

from bot.models import Place
from bot.services.opening_hours import is_valid_horaires

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SCHEMA_PATH = DATA_DIR / "schema-lieux-mediation-numerique-v1.0.2.json"

# Column names of the 0.1.x exports that have a sure v1.0 equivalent. Values are then checked
# against v1.0.2; those with no equivalent are dropped with a warning rather than rejecting the row.
LEGACY_COLUMNS: dict[str, str] = {
    "courriel": "courriels",
    "labels_nationaux": "dispositif_programmes_nationaux",
    "labels_autres": "autres_formations_labels",
    "conditions_acces": "frais_a_charge",
    "frais": "frais_a_charge",
    "accessibilite": "fiche_acces_libre",
    # Used only when the file has no `pivot` column; the SIRET/RNA pattern still applies.
    "cle_pivot": "pivot",
}
# 0.1.x `publics_accueillis` mixed audiences and specific support; v1.0 splits them in two.
LEGACY_SPLIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "publics_accueillis": ("publics_specifiquement_adresses", "prise_en_charge_specifique"),
}
# 0.1.x values renamed in v1.0, keyed by the accent- and case-insensitive old spelling.
LEGACY_VALUES: dict[str, dict[str, str]] = {
    "modalites_accompagnement": {
        "seul": "En autonomie",
        "avec de l'aide": "Accompagnement individuel",
        "dans un atelier": "Dans un atelier collectif",
    },
    "dispositif_programmes_nationaux": {
        "cnfs": "Conseillers numériques",
        "conseillers numeriques france services": "Conseillers numériques",
        "point numerique caf": "Point d'accès numérique CAF",
    },
}

_RANGES = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}
_HINTS = {
    "pivot": "expected a SIRET, RNA or RIDET (9 to 14 letters or digits)",
    "code_postal": "expected a 5-digit postal code",
    "code_insee": "expected a 5-character INSEE commune code",
    "telephone": "expected an international number such as +33153010101",
}
# An enumeration written as a pattern: (?:(?:^|\|)(A|B|C))+$
_ENUM_PATTERN = re.compile(r"^\(\?:\(\?:\^\|\\\|\)\((?P<alternatives>.*)\)\)\+\$$")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Constraints of one field of the standard, as stored for a Place column."""

    name: str
    kind: str
    required: bool = False
    pattern: re.Pattern[str] | None = None
    choices: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    multi_valued: bool = False


@dataclass(frozen=True, slots=True)
class PlacesSchema:
    """The fields of one version of the standard that Relais stores."""

    version: str
    primary_key: str
    fields: dict[str, FieldRule]

    @property
    def names(self) -> frozenset[str]:
        """Field names of the standard."""
        return frozenset(self.fields)


@dataclass(slots=True)
class CleanRow:
    """One row checked against the schema: Place values, or the problems that reject it."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


def _enum_choices(pattern: str) -> tuple[str, ...]:
    match = _ENUM_PATTERN.match(pattern)
    if match is None:
        return ()
    alternatives = re.split(r"(?<!\\)\|", match["alternatives"])
    return tuple(re.sub(r"\\(.)", r"\1", choice) for choice in alternatives)


def _column_length(name: str) -> int | None:
    column = Place.__table__.c[name]
    return column.type.length if isinstance(column.type, String) else None


def _rule_from_json(spec: Mapping[str, Any]) -> FieldRule:
    name = spec["name"]
    constraints = spec.get("constraints", {})
    pattern = constraints.get("pattern")
    choices = _enum_choices(pattern) if pattern else ()
    max_lengths = [n for n in (constraints.get("maxLength"), _column_length(name)) if n]
    return FieldRule(
        name=name,
        kind=spec.get("type", "string"),
        required=bool(constraints.get("required", False)),
        # Frictionless patterns must match the whole value, hence fullmatch later.
        pattern=re.compile(pattern, re.ASCII) if pattern and not choices else None,
        choices=choices,
        min_length=constraints.get("minLength"),
        max_length=min(max_lengths) if max_lengths else None,
        multi_valued=isinstance(Place.__table__.c[name].type, JSON),
    )


@lru_cache(maxsize=4)
def load_schema(path: Path = SCHEMA_PATH) -> PlacesSchema:
    """Read the table schema file; only the fields that Place stores are kept."""
    document = json.loads(path.read_text(encoding="utf-8"))
    stored = set(Place.__table__.c.keys())
    rules = {
        spec["name"]: _rule_from_json(spec) for spec in document["fields"] if spec["name"] in stored
    }
    return PlacesSchema(
        version=str(document.get("version", "")),
        primary_key=str(document.get("primaryKey", "id")),
        fields=rules,
    )


def value_key(text: str) -> str:
    """Accent-, case- and spacing-insensitive form of a value, for matching old spellings."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def _resolve_legacy(rule: FieldRule, item: str) -> str | None:
    """The v1.0.2 spelling of a 0.1.x value, or None when there is none."""
    by_key = {value_key(choice): choice for choice in rule.choices}
    aliases = LEGACY_VALUES.get(rule.name, {})
    # "Jeunes (16-26 ans)" -> "Jeunes"; "Handicaps mentaux : déficiences..." -> "Handicaps mentaux"
    shortened = re.sub(r"\s*(\(.*\)|:.*)$", "", item)
    for key in (value_key(item), value_key(shortened)):
        if key in by_key:
            return by_key[key]
        if key in aliases:
            return aliases[key]
    return None


def _as_text(raw: object, multi_valued: bool) -> str:
    """Text of a CSV cell or JSON value; raises ValueError with the reason when it has none."""
    if raw is None:
        return ""
    if isinstance(raw, bool | dict):
        raise ValueError(f"expected text, got {json.dumps(raw, ensure_ascii=False)[:40]}")
    if isinstance(raw, list):
        if not all(isinstance(item, str | int | float) for item in raw):
            raise ValueError("expected a list of texts")
        if len(raw) > 1 and not multi_valued:
            raise ValueError("expected a single value, got a list")
        return "|".join(str(item).strip() for item in raw)
    return str(raw).strip()


def _check_number(rule: FieldRule, text: str) -> float:
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    low, high = _RANGES.get(rule.name, (-math.inf, math.inf))
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{text} is out of range")
    return number


def _check_date(text: str) -> date:
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date written YYYY-MM-DD") from None


def _check_text(rule: FieldRule, text: str) -> str:
    if rule.max_length is not None and len(text) > rule.max_length:
        raise ValueError(f"longer than {rule.max_length} characters")
    if rule.min_length is not None and len(text) < rule.min_length:
        raise ValueError(f"shorter than {rule.min_length} characters")
    if rule.pattern is not None and not rule.pattern.fullmatch(text):
        hint = _HINTS.get(rule.name, f"does not match {rule.pattern.pattern}")
        raise ValueError(f"'{text}': {hint}")
    return text


def _check_choices(rule: FieldRule, items: list[str], legacy: bool, row: CleanRow) -> list[str]:
    kept: list[str] = []
    for item in items:
        if item in rule.choices:
            kept.append(item)
            continue
        resolved = _resolve_legacy(rule, item) if legacy else None
        if resolved is not None:
            kept.append(resolved)
        elif legacy:
            row.dropped.append((rule.name, item))
        else:
            raise ValueError(f"unknown value '{item}'")
    return list(dict.fromkeys(kept))


def _check_field(rule: FieldRule, text: str, legacy: bool, row: CleanRow) -> Any:
    if rule.kind in ("number", "integer"):
        return _check_number(rule, text)
    if rule.kind == "date":
        return _check_date(text)
    if not rule.multi_valued:
        return _check_text(rule, text)
    items = [item.strip() for item in text.split("|") if item.strip()]
    if rule.choices:
        return _check_choices(rule, items, legacy, row)
    return [_check_text(rule, item) for item in items]


def _split_legacy(schema: PlacesSchema, column: str, raw: object, row: CleanRow) -> None:
    """Share the values of a 0.1.x column between the v1.0 fields that replaced it."""
    targets = [
        schema.fields[name] for name in LEGACY_SPLIT_COLUMNS[column] if name in schema.fields
    ]
    for item in filter(None, (part.strip() for part in _as_text(raw, True).split("|"))):
        for rule in targets:
            resolved = _resolve_legacy(rule, item)
            if resolved is not None:
                if resolved not in row.values[rule.name]:
                    row.values[rule.name].append(resolved)
                break
        else:
            row.dropped.append((column, item))


def clean_row(schema: PlacesSchema, record: Mapping[str, object], *, legacy: bool) -> CleanRow:
    """Check one row keyed by v1.0.2 field names (plus 0.1.x split columns) against the schema."""
    row = CleanRow()
    for name, rule in schema.fields.items():
        empty: Any = [] if rule.multi_valued else None
        try:
            text = _as_text(record.get(name), rule.multi_valued)
            if not text:
                if rule.required:
                    reason = (
                        "required value missing" if name in record else "required column missing"
                    )
                    raise ValueError(reason)
                row.values[name] = empty
                continue
            row.values[name] = _check_field(rule, text, legacy, row)
        except ValueError as error:
            row.problems.append((name, str(error)))
            row.values[name] = empty
    for column in LEGACY_SPLIT_COLUMNS:
        if column in record:
            try:
                _split_legacy(schema, column, record[column], row)
            except ValueError as error:
                row.problems.append((column, str(error)))
    _drop_unreadable_hours(row)
    _drop_half_coordinates(row)
    return row


def _drop_unreadable_hours(row: CleanRow) -> None:
    # Decision: a place whose hours cannot be read is still worth finding (address, phone),
    # so it is kept without hours and the bot says the hours are unknown.
    horaires = row.values.get("horaires")
    if horaires and not is_valid_horaires(horaires):
        row.warnings.append(
            f"horaires '{horaires}' is not OSM opening_hours; place kept without opening hours"
        )
        row.values["horaires"] = None


def _drop_half_coordinates(row: CleanRow) -> None:
    latitude, longitude = row.values.get("latitude"), row.values.get("longitude")
    if (latitude is None) != (longitude is None):
        row.warnings.append("only one of latitude/longitude given; place kept without a position")
        row.values["latitude"] = row.values["longitude"] = None
