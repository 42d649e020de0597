#!/usr/bin/env python3
"""Independent reference for the Kennzahl "visits" KPIs, plus the test fixtures it checks.

Python 3.11+ standard library only. Deterministic: every random choice comes from
random.Random(20251), so rerunning rewrites byte-identical files.

Writes
  tests/fixtures/independent/visits_clean.csv            canonical UTF-8 CSV
  tests/fixtures/independent/visits_messy.csv            German Excel export (cp1252, ';', CRLF,
                                                         title block, totals row, odd headers)
  tests/fixtures/independent/visits_messy.profile.toml   mapping profile for the messy file
  tests/fixtures/independent/expected_visits_clean.json  KPIs per (month, office)
  tests/fixtures/independent/expected_visits_messy.json
  tests/fixtures/malformed/*.csv + README.md             negative fixtures

The KPI code below is written from /work/shared/DESIGN.md ("KPI definitions (the contract)")
and shares nothing with the Rust implementation. The expected JSON is computed by reading the
written files back (own little reader, own profile mapping), not from the generator's memory.

Run from anywhere:  python3 tests/independent/make_fixtures.py
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # repository root (tests/independent/ -> ../..)
OUT = ROOT / "tests" / "fixtures" / "independent"
MAL = ROOT / "tests" / "fixtures" / "malformed"

SEED = 20251
MIN_CELL = 3  # DESIGN.md: min_cell default 3
TARGET_MIN = 30.0  # DESIGN.md: within-target default 30 min

CLEAN_HEADER = [
    "office", "location", "service", "arrived_at", "called_at", "finished_at",
    "appointment", "appointment_at", "no_show",
]
MESSY_HEADER = [
    "Dienststelle XY", "Filiale", "Anliegen-Text", "Tag", "Zeit Ziehung", "Zeit Aufruf",
    "Zeit Ende", "Terminkunde", "Name", "Telefon",
]
PROFILE_TOML = """kind = "visits"
drop = ["Name", "Telefon"]
[columns]
office = "Dienststelle XY"
location = "Filiale"
service = "Anliegen-Text"
date = "Tag"
arrived = "Zeit Ziehung"
called = "Zeit Aufruf"
finished = "Zeit Ende"
appointment = "Terminkunde"
"""

EMA = "Einwohnermeldeamt"
SVA = "Straßenverkehrsamt"
ABH = "Ausländerbehörde"
OFFICES = {
    EMA: {
        "locations": ["Bürgerbüro Mitte", "Bürgerbüro Nord"],
        "services": ["Anmeldung", "Personalausweis", "Reisepass", "Meldebescheinigung, erweitert"],
    },
    SVA: {
        "locations": ["Zulassungsstelle", "Führerscheinstelle"],
        "services": ["Kfz-Zulassung", "Außerbetriebsetzung", "Führerschein", "Führerschein, Umtausch"],
    },
    ABH: {
        "locations": ["Rathaus Süd"],
        "services": ["Aufenthaltstitel", "Verpflichtungserklärung", "Einbürgerung"],
    },
}
MONTHS = [(2025, 1), (2025, 2), (2025, 3)]
FIRST_NAMES = ["Anna", "Jürgen", "Özlem", "Lukas", "Marie", "Hans", "Sophie", "Mehmet", "Lena",
               "Björn", "Zoë", "Käthe"]
LAST_NAMES = ["Müller", "Schmidt", "Weiß", "Schäfer", "Krüger", "Yilmaz", "Groß", "Öztürk",
              "Becker", "Hoffmann"]

rng = random.Random(SEED)


# --------------------------------------------------------------------------------------------
# KPI reference (from DESIGN.md, independent of the Rust code)
# --------------------------------------------------------------------------------------------

def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy default / Excel QUANTIL.INKL).

    sorted x[0..n-1], h = (n-1)*q, result = x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)]).
    """
    if not values:
        raise ValueError("quantile of empty list")
    x = sorted(values)
    h = (len(x) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(x):  # h == n-1 (q == 1 or n == 1): no upper neighbour
        return x[lo]
    return x[lo] + (h - lo) * (x[lo + 1] - x[lo])


# Hand check of quantile() against the paper computation, 5 waits [4, 10, 1, 7, 22] minutes:
#   sorted: 1, 4, 7, 10, 22   (n = 5, n-1 = 4)
#   median: h = 4*0.5 = 2.0 -> x[2] = 7
#   p90:    h = 4*0.9 = 3.6 -> x[3] + 0.6*(x[4]-x[3]) = 10 + 0.6*12 = 17.2
#   mean = 44/5 = 8.8, max = 22, within 30 min: 5/5 = 1.0
# and an even count, 4 waits [2, 8, 4, 6]: sorted 2,4,6,8; median h = 1.5 -> 4 + 0.5*2 = 5;
#   p90 h = 2.7 -> 6 + 0.7*2 = 7.4
assert quantile([4, 10, 1, 7, 22], 0.5) == 7
assert abs(quantile([4, 10, 1, 7, 22], 0.9) - 17.2) < 1e-12
assert quantile([2, 8, 4, 6], 0.5) == 5
assert abs(quantile([2, 8, 4, 6], 0.9) - 7.4) < 1e-12
assert quantile([3.5], 0.9) == 3.5


def minutes(a: dt.datetime, b: dt.datetime) -> float:
    """b - a in minutes as float."""
    return (b - a).total_seconds() / 60.0


def kpi_table(rows: list[dict]) -> list[dict]:
    """rows: canonical dicts with keys month, office, appointment (bool), no_show (bool),
    arrived, called, finished (datetime or None). Returns one dict per (month, office)."""
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        cells[(r["month"], r["office"])].append(r)

    def keep(value, base: int):
        return "." if base < MIN_CELL else value

    def ratio(num: int, den: int):
        # den == 0 is < MIN_CELL as well, so this also covers division by zero
        return "." if den < MIN_CELL else num / den

    out = []
    for month, office in sorted(cells):
        cell = cells[(month, office)]
        n = len(cell)
        visitors = [r for r in cell if not r["no_show"]]
        appointments = [r for r in cell if r["appointment"]]
        no_shows = [r for r in cell if r["no_show"]]
        served = [r for r in visitors if r["called"] is not None]
        waits = [minutes(r["arrived"], r["called"]) for r in served]
        services = [minutes(r["called"], r["finished"]) for r in cell
                    if r["called"] is not None and r["finished"] is not None]
        ns = len(served)
        out.append({
            "month": month,
            "office": office,
            "visitors": keep(len(visitors), n),
            "appointments": keep(len(appointments), n),
            "no_shows": keep(len(no_shows), n),
            "no_show_rate": ratio(len(no_shows), len(appointments)),
            "appointment_share": ratio(sum(1 for r in visitors if r["appointment"]), len(visitors)),
            "served": keep(ns, n),
            "wait_mean_min": keep(sum(waits) / ns if ns else None, ns),
            "wait_median_min": keep(quantile(waits, 0.5) if ns else None, ns),
            "wait_p90_min": keep(quantile(waits, 0.9) if ns else None, ns),
            "wait_max_min": keep(max(waits) if ns else None, ns),
            "within_target_share": ratio(sum(1 for w in waits if w <= TARGET_MIN), ns),
            "service_median_min": keep(quantile(services, 0.5) if services else None, len(services)),
        })
    return out


# --------------------------------------------------------------------------------------------
# Readers (own, minimal) for the two fixture formats
# --------------------------------------------------------------------------------------------

def parse_bool(s: str) -> bool | None:
    v = s.strip().lower()
    if v == "":
        return None
    if v in ("true", "ja", "1", "x"):
        return True
    if v in ("false", "nein", "0"):
        return False
    raise ValueError(f"bad bool {s!r}")


def is_no_show(explicit: bool | None, appointment: bool, arrived) -> bool:
    if explicit is not None:
        return explicit
    return appointment and arrived is None


def read_clean(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "clean file must have no BOM"
    text = raw.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == CLEAN_HEADER, header
    ts = lambda s: dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S") if s else None  # noqa: E731
    rows = []
    for cells in reader:
        r = dict(zip(header, cells, strict=True))
        arrived, called, finished = ts(r["arrived_at"]), ts(r["called_at"]), ts(r["finished_at"])
        appt_at = ts(r["appointment_at"])
        appointment = bool(parse_bool(r["appointment"]))
        no_show = is_no_show(parse_bool(r["no_show"]), appointment, arrived)
        month_src = appt_at if no_show else arrived
        rows.append({
            "office": r["office"], "month": month_src.strftime("%Y-%m"),
            "appointment": appointment, "no_show": no_show,
            "arrived": arrived, "called": called, "finished": finished,
        })
    return rows


def read_messy(path: Path, profile_path: Path) -> list[dict]:
    profile = tomllib.loads(profile_path.read_text(encoding="utf-8"))
    assert profile["kind"] == "visits"
    cols = profile["columns"]
    raw = path.read_bytes()
    text = raw.decode("cp1252")
    all_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    # header = first line that holds every mapped source column
    hi = next(i for i, cells in enumerate(all_rows) if set(cols.values()) <= set(cells))
    header = all_rows[hi]
    rows = []
    totals = None
    for cells in all_rows[hi + 1:]:
        if not any(c.strip() for c in cells):
            continue
        if cells[0].strip().lower() == "summe":  # totals row: not data
            totals = int(next(c for c in cells[1:] if c.strip()))
            continue
        r = dict(zip(header, cells, strict=True))
        for d in profile["drop"]:
            r.pop(d)
        day = dt.datetime.strptime(r[cols["date"]], "%d.%m.%Y").date()

        def at(col: str):
            s = r[cols[col]]
            return dt.datetime.combine(day, dt.datetime.strptime(s, "%H:%M").time()) if s else None

        arrived, called, finished = at("arrived"), at("called"), at("finished")
        appointment = bool(parse_bool(r[cols["appointment"]]))
        no_show = is_no_show(None, appointment, arrived)  # no no_show column in this export
        rows.append({
            "office": r[cols["office"]], "month": day.strftime("%Y-%m"),
            "appointment": appointment, "no_show": no_show,
            "arrived": arrived, "called": called, "finished": finished,
        })
    assert totals == len(rows), (totals, len(rows))
    return rows


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------

def working_days(year: int, month: int) -> list[dt.date]:
    d, days = dt.date(year, month, 1), []
    while d.month == month:
        if d.weekday() < 5 and d != dt.date(2025, 1, 1):
            days.append(d)
        d += dt.timedelta(days=1)
    return days


WORKDAYS = {ym: working_days(*ym) for ym in MONTHS}

# kinds of rows
WALKIN, APPT, NOSHOW, WALKIN_UNCALLED, APPT_UNCALLED, NOFINISH = (
    "walkin", "appt", "noshow", "walkin_uncalled", "appt_uncalled", "nofinish")
BIG_CELL_WEIGHTS = [(WALKIN, 52), (APPT, 30), (NOSHOW, 8), (WALKIN_UNCALLED, 5),
                    (APPT_UNCALLED, 2), (NOFINISH, 3)]


def pick_kind() -> str:
    kinds, weights = zip(*BIG_CELL_WEIGHTS)
    return rng.choices(kinds, weights)[0]


def draw_wait_seconds(appointment: bool) -> int:
    u = rng.random()
    if u < 0.03:
        return 0  # called at once
    if u < 0.06:
        return 30 * 60  # exactly on the target: counts as within (wait <= 30)
    if appointment:
        return rng.randint(0, 12 * 60)
    return min(int(rng.expovariate(1 / (22 * 60))), 150 * 60)


def gen_clean_row(office: str, ym: tuple[int, int], kind: str) -> tuple:
    day = rng.choice(WORKDAYS[ym])
    loc = rng.choice(OFFICES[office]["locations"])
    svc = rng.choice(OFFICES[office]["services"])
    appointment = kind in (APPT, APPT_UNCALLED, NOSHOW)
    midnight = dt.datetime.combine(day, dt.time())
    appt_at = midnight + dt.timedelta(minutes=10 * rng.randrange(8 * 6, 16 * 6)) if appointment else None
    f = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S") if t else ""  # noqa: E731
    b = lambda v: "true" if v else "false"  # noqa: E731
    if kind == NOSHOW:
        return (office, loc, svc, "", "", "", "true", f(appt_at), "true")
    if appointment:
        arrived = appt_at - dt.timedelta(seconds=rng.randint(0, 15 * 60))
    else:
        arrived = midnight + dt.timedelta(hours=7, minutes=30, seconds=rng.randint(0, 9 * 3600))
    called = finished = None
    if kind not in (WALKIN_UNCALLED, APPT_UNCALLED):
        called = arrived + dt.timedelta(seconds=draw_wait_seconds(appointment))
        if kind != NOFINISH:
            finished = called + dt.timedelta(seconds=rng.randint(90, 25 * 60))
    return (office, loc, svc, f(arrived), f(called), f(finished), b(appointment), f(appt_at), "false")


def gen_messy_row(office: str, ym: tuple[int, int], kind: str) -> tuple:
    day = rng.choice(WORKDAYS[ym])
    loc = rng.choice(OFFICES[office]["locations"])
    svc = rng.choice(OFFICES[office]["services"])
    appointment = kind in (APPT, APPT_UNCALLED, NOSHOW)
    name = f"{rng.choice(LAST_NAMES)}, {rng.choice(FIRST_NAMES)}"
    phone = f"0{rng.choice(['151', '176', '202', '30'])} {rng.randint(1000000, 9999999)}"
    hm = lambda m: f"{m // 60:02d}:{m % 60:02d}"  # noqa: E731  minutes after midnight -> hh:mm
    tag = day.strftime("%d.%m.%Y")
    ja = "ja" if appointment else "nein"
    if kind == NOSHOW:
        return (office, loc, svc, tag, "", "", "", ja, name, phone)
    if appointment:
        arrived = 10 * rng.randrange(8 * 6, 16 * 6) - rng.randint(0, 15)
    else:
        arrived = 7 * 60 + 30 + rng.randint(0, 9 * 60)
    called = finished = None
    if kind not in (WALKIN_UNCALLED, APPT_UNCALLED):
        u = rng.random()
        if u < 0.04:
            wait = 0
        elif u < 0.08:
            wait = 30
        elif appointment:
            wait = rng.randint(0, 12)
        else:
            wait = min(int(rng.expovariate(1 / 22)), 150)
        called = arrived + wait
        if kind != NOFINISH:
            finished = called + rng.randint(2, 25)
    h = lambda m: hm(m) if m is not None else ""  # noqa: E731
    return (office, loc, svc, tag, hm(arrived), h(called), h(finished), ja, name, phone)


def fill(gen, plan: dict, key_len: int) -> list[tuple]:
    """plan: {(office, ym): int (random kinds) | list of kinds}. Rows unique on the first
    key_len fields (the fields kept after mapping)."""
    seen, rows = set(), []
    for (office, ym), spec in plan.items():
        kinds = [pick_kind() for _ in range(spec)] if isinstance(spec, int) else list(spec)
        for kind in kinds:
            for _ in range(1000):
                row = gen(office, ym, kind)
                if row[:key_len] not in seen:
                    seen.add(row[:key_len])
                    rows.append(row)
                    break
            else:
                raise RuntimeError("could not draw a unique row")
    return rows


CLEAN_PLAN = {
    (EMA, (2025, 1)): 70,
    (EMA, (2025, 2)): 65,
    (EMA, (2025, 3)): 75,
    (SVA, (2025, 1)): 70,
    (SVA, (2025, 2)): [WALKIN, APPT],  # exactly 2 rows: everything suppressed
    (SVA, (2025, 3)): 70,
    (ABH, (2025, 1)): 45,
    # 6 walk-ins, no appointments: appointments = 0 shown, no_show_rate "." (zero denominator)
    (ABH, (2025, 2)): [WALKIN] * 5 + [WALKIN_UNCALLED],
    # 5 rows: counts shown, no_show_rate "." (2 appointments), waits "." (2 served)
    (ABH, (2025, 3)): [WALKIN, WALKIN_UNCALLED, WALKIN_UNCALLED, APPT, NOSHOW],
}

MESSY_PLAN = {
    (SVA, (2025, 1)): 55,
    (SVA, (2025, 2)): 55,
    (SVA, (2025, 3)): 55,
    (ABH, (2025, 1)): 40,
    (ABH, (2025, 2)): 40,
    (ABH, (2025, 3)): [WALKIN],  # a single row: everything suppressed
    # exactly min_cell rows, all served: nothing about waits suppressed; no appointments
    (EMA, (2025, 2)): [WALKIN, WALKIN, WALKIN],
    (EMA, (2025, 3)): 50,
}


def clean_sort_key(row: tuple):
    return (row[3] or row[7], row[0], row[1], row[2])


def messy_sort_key(row: tuple):
    d = dt.datetime.strptime(row[3], "%d.%m.%Y").date()
    return (d, row[4] or "99:99", row[0], row[1], row[2])


def write_clean(path: Path) -> int:
    rows = sorted(fill(gen_clean_row, CLEAN_PLAN, 9), key=clean_sort_key)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CLEAN_HEADER)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return len(rows)


def write_messy(path: Path) -> int:
    rows = sorted(fill(gen_messy_row, MESSY_PLAN, 8), key=messy_sort_key)
    buf = io.StringIO(newline="")
    buf.write("Auswertung Wartezeiten Bürgerbüro\r\n")
    buf.write("Zeitraum: 01.01.2025 bis 31.03.2025\r\n")
    buf.write("\r\n")
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(MESSY_HEADER)
    w.writerows(rows)
    w.writerow(["Summe", str(len(rows))] + [""] * (len(MESSY_HEADER) - 2))
    path.write_bytes(buf.getvalue().encode("cp1252"))
    return len(rows)


# --------------------------------------------------------------------------------------------
# Malformed fixtures
# --------------------------------------------------------------------------------------------

H = ",".join(CLEAN_HEADER)
OK1 = "Einwohnermeldeamt,Bürgerbüro Mitte,Anmeldung,2025-01-07T09:00:00,2025-01-07T09:12:30,2025-01-07T09:20:00,false,,false"
OK2 = "Einwohnermeldeamt,Bürgerbüro Mitte,Reisepass,2025-01-07T09:05:00,2025-01-07T09:30:00,2025-01-07T09:41:00,true,2025-01-07T09:10:00,false"
OK3 = "Straßenverkehrsamt,Zulassungsstelle,Kfz-Zulassung,2025-01-08T10:00:00,2025-01-08T10:07:00,2025-01-08T10:25:00,false,,false"
OK4 = "Ausländerbehörde,Rathaus Süd,Aufenthaltstitel,,,,true,2025-01-08T11:00:00,true"
OK5 = "Straßenverkehrsamt,Führerscheinstelle,Führerschein,2025-01-09T08:30:00,,,false,,false"

MALFORMED: dict[str, str] = {
    # line 4: called_at 10:05 before arrived_at 10:15
    "called_before_arrived.csv": "\n".join([
        H, OK1, OK2,
        "Einwohnermeldeamt,Bürgerbüro Nord,Personalausweis,2025-01-10T10:15:00,2025-01-10T10:05:00,2025-01-10T10:20:00,false,,false",
        OK3]) + "\n",
    # line 3: a visit in 2031
    "future_date.csv": "\n".join([
        H, OK1,
        "Straßenverkehrsamt,Zulassungsstelle,Kfz-Zulassung,2031-03-04T09:00:00,2031-03-04T09:10:00,2031-03-04T09:25:00,false,,false",
        OK3]) + "\n",
    # line 3: 31 February (called_at/finished_at empty so the date is the only problem)
    "feb31.csv": "\n".join([
        H, OK1,
        "Einwohnermeldeamt,Bürgerbüro Mitte,Anmeldung,2025-02-31T09:00:00,,,false,,false",
        OK3]) + "\n",
    # line 2: appointment = vielleicht
    "bad_bool.csv": "\n".join([
        H,
        "Einwohnermeldeamt,Bürgerbüro Mitte,Anmeldung,2025-01-07T09:00:00,2025-01-07T09:12:30,2025-01-07T09:20:00,vielleicht,,false",
        OK2, OK3]) + "\n",
    # line 5 == line 3
    "duplicate.csv": "\n".join([H, OK1, OK2, OK3, OK2, OK4]) + "\n",
    "many_problems.csv": "\n".join([
        H,
        # line 2: arrived_at month 13
        "Einwohnermeldeamt,Bürgerbüro Mitte,Anmeldung,2025-13-05T09:00:00,,,false,,false",
        # line 3: appointment = jein
        "Einwohnermeldeamt,Bürgerbüro Nord,Reisepass,2025-01-13T09:00:00,2025-01-13T09:20:00,2025-01-13T09:30:00,jein,,false",
        # line 4: valid
        OK1,
        # line 5: called_at before arrived_at
        "Straßenverkehrsamt,Zulassungsstelle,Kfz-Zulassung,2025-01-14T11:00:00,2025-01-14T10:45:00,2025-01-14T11:05:00,false,,false",
        # line 6: in the future (2031)
        "Straßenverkehrsamt,Zulassungsstelle,Führerschein,2031-01-14T11:00:00,2031-01-14T11:10:00,2031-01-14T11:20:00,false,,false",
        # line 7: finished_at before called_at
        "Ausländerbehörde,Rathaus Süd,Einbürgerung,2025-01-15T08:00:00,2025-01-15T08:30:00,2025-01-15T08:10:00,false,,false",
        # line 8: valid
        OK3,
        # line 9: duplicate of line 4
        OK1]) + "\n",
    # line 3: service field opens a quote that is never closed (line 4 is swallowed into it)
    "unterminated_quote.csv": "\n".join([
        H, OK1,
        'Einwohnermeldeamt,Bürgerbüro Mitte,"Anmeldung,2025-01-07T10:00:00,2025-01-07T10:05:00,2025-01-07T10:15:00,false,,false',
        OK3]) + "\n",
    "empty.csv": "",
    "header_only.csv": H + "\n",
    "personal_data.csv": "\n".join([
        H + ",Vorname,E-Mail",
        OK1 + ",Anna,anna.mueller@example.org",
        OK2 + ",Jürgen,j.krueger@example.org",
        OK3 + ",Özlem,oezlem@example.net"]) + "\n",
}


def binary_bytes() -> bytes:
    b = bytearray(random.Random(SEED).randbytes(2048))
    for i in (0, 1, 511, 1024, 2047):  # make sure there are NUL bytes
        b[i] = 0
    return bytes(b)


MALFORMED_README = """# Malformed visits fixtures

Negative fixtures for `kennzahl import FILE --kind visits`. Each must be refused (exit 1) with
every problem reported, nothing stored. Written by `tests/independent/make_fixtures.py`; do not
edit by hand. UTF-8, `,` separator, LF line ends, the clean visits header unless noted.

Line numbers are as seen in an editor: the header is line 1. Columns are named by header and
numbered from 1: office=1, location=2, service=3, arrived_at=4, called_at=5, finished_at=6,
appointment=7, appointment_at=8, no_show=9.

| file | line | column | problem |
| --- | --- | --- | --- |
| `called_before_arrived.csv` | 4 | called_at (5) | called_at `2025-01-10T10:05:00` is before arrived_at `2025-01-10T10:15:00` |
| `future_date.csv` | 3 | arrived_at (4), also called_at (5), finished_at (6) | dated 2031-03-04, in the future |
| `feb31.csv` | 3 | arrived_at (4) | `2025-02-31T09:00:00` is not a date (February has no 31st); called_at/finished_at are empty |
| `bad_bool.csv` | 2 | appointment (7) | `vielleicht` is not a boolean |
| `duplicate.csv` | 5 | whole row | identical to line 3 |
| `many_problems.csv` | 2 | arrived_at (4) | `2025-13-05T09:00:00`: month 13 |
| | 3 | appointment (7) | `jein` is not a boolean |
| | 5 | called_at (5) | `2025-01-14T10:45:00` before arrived_at `2025-01-14T11:00:00` |
| | 6 | arrived_at (4), also called_at (5), finished_at (6) | dated 2031-01-14, in the future |
| | 7 | finished_at (6) | `2025-01-15T08:10:00` before called_at `2025-01-15T08:30:00` |
| | 9 | whole row | identical to line 4 |
| `unterminated_quote.csv` | 3 | service (3) | the field opens with `"` that is never closed; the reader hits end of file inside it (line 4 is swallowed) |
| `empty.csv` | - | - | 0 bytes |
| `header_only.csv` | 1 | - | header line only, no data rows |
| `binary.csv` | - | - | 2048 random bytes (fixed seed 20251) with NUL bytes at offsets 0, 1, 511, 1024, 2047; not text |
| `personal_data.csv` | 1 | Vorname (10), E-Mail (11) | personal-data columns and no mapping profile that drops them; rows 2-4 are otherwise valid |

Lines 2, 3, 5 of `called_before_arrived.csv`, the other lines of `future_date.csv`, `feb31.csv`,
`bad_bool.csv`, `duplicate.csv` and lines 4 and 8 of `many_problems.csv` are valid rows.
"""


# --------------------------------------------------------------------------------------------

def write_json(path: Path, table: list[dict]) -> None:
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    MAL.mkdir(parents=True, exist_ok=True)

    n_clean = write_clean(OUT / "visits_clean.csv")
    n_messy = write_messy(OUT / "visits_messy.csv")
    (OUT / "visits_messy.profile.toml").write_bytes(PROFILE_TOML.encode("utf-8"))

    clean_rows = read_clean(OUT / "visits_clean.csv")
    messy_rows = read_messy(OUT / "visits_messy.csv", OUT / "visits_messy.profile.toml")
    assert len(clean_rows) == n_clean and len(messy_rows) == n_messy
    for rows in (clean_rows, messy_rows):
        for r in rows:
            if r["called"] is not None:
                assert r["arrived"] is not None and r["called"] >= r["arrived"]
            if r["finished"] is not None:
                assert r["called"] is not None and r["finished"] >= r["called"]
    write_json(OUT / "expected_visits_clean.json", kpi_table(clean_rows))
    write_json(OUT / "expected_visits_messy.json", kpi_table(messy_rows))

    for name, text in MALFORMED.items():
        (MAL / name).write_bytes(text.encode("utf-8"))
    (MAL / "binary.csv").write_bytes(binary_bytes())
    (MAL / "README.md").write_text(MALFORMED_README, encoding="utf-8")

    print(f"visits_clean.csv: {n_clean} rows; visits_messy.csv: {n_messy} rows")


if __name__ == "__main__":
    main()
