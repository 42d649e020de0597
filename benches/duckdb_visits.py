#!/usr/bin/env python3
"""DuckDB baseline for benches/import_vs_duckdb.sh.

Reads a visits CSV (the format written by `kennzahl demo bench-visits`) and writes the
monthly KPIs per office, as defined in the "KPI definitions" of DESIGN.md, to a CSV:

    python3 benches/duckdb_visits.py INPUT.csv OUTPUT.csv [--keep DIR]

With --keep, DuckDB also keeps what a Kennzahl import keeps besides its KPIs: the original
file zstd-compressed (level 1, the `zstd` command, while DuckDB reads) under its SHA-256, and
the rows as a zstd Parquet file, both in DIR. Kennzahl keeps more (its partial aggregates)
and checks every value; this is the like-for-like floor of storing an export at all.

One process does everything (interpreter start-up, `import duckdb`, CSV read, aggregation,
CSV write), so timing this process measures the whole DuckDB side.

Not reproduced from Kennzahl: per-office targets (30 min is used for every office), the
`min_cell` suppression ("." for cells from fewer than 3 rows), a `wait_min` column (the
bench CSV has none) and input validation. A `persons` column (`kennzahl demo bench-visits
--persons`) is read as an integer; like Kennzahl's KPIs, the figures count rows, not persons.
"""

import hashlib
import os
import subprocess
import sys
import threading

import duckdb

TARGET_MIN = 30  # default waiting-time target of DESIGN.md

# Input columns of the bench CSV, read with explicit types (no sniffing).
COLUMNS = {
    "office": "VARCHAR",
    "location": "VARCHAR",
    "service": "VARCHAR",
    "arrived_at": "TIMESTAMP",
    "called_at": "TIMESTAMP",
    "finished_at": "TIMESTAMP",
    "appointment": "BOOLEAN",
    "appointment_at": "TIMESTAMP",
    "no_show": "BOOLEAN",
}

QUERY = """
WITH raw AS (
    SELECT * FROM {raw}
),
typed AS (
    SELECT
        office,
        coalesce(appointment, false) AS appt,
        -- a no-show: flagged, or an appointment with no arrival
        coalesce(no_show, false)
            OR (coalesce(appointment, false) AND arrived_at IS NULL) AS ns,
        arrived_at, called_at, finished_at, appointment_at
    FROM raw
),
rows AS (
    SELECT
        -- month of arrived_at; of appointment_at for a no-show (arrived_at if that is empty)
        strftime(CASE WHEN ns THEN coalesce(appointment_at, arrived_at) ELSE arrived_at END,
                 '%Y-%m') AS month,
        office, appt, ns,
        CASE WHEN NOT ns AND arrived_at IS NOT NULL AND called_at IS NOT NULL
             THEN (epoch(called_at) - epoch(arrived_at)) / 60.0 END AS wait,
        CASE WHEN NOT ns AND called_at IS NOT NULL AND finished_at IS NOT NULL
             THEN (epoch(finished_at) - epoch(called_at)) / 60.0 END AS svc
    FROM typed
),
agg AS (
    SELECT
        month, office,
        count(*) FILTER (WHERE NOT ns)              AS visitors,
        count(*) FILTER (WHERE appt)                AS appointments,
        count(*) FILTER (WHERE ns)                  AS no_shows,
        count(*) FILTER (WHERE NOT ns AND appt)     AS visitors_with_appointment,
        count(wait)                                 AS served,
        avg(wait)                                   AS wait_mean_min,
        quantile_cont(wait, 0.5)                    AS wait_median_min,
        quantile_cont(wait, 0.9)                    AS wait_p90_min,
        max(wait)                                   AS wait_max_min,
        count(*) FILTER (WHERE wait <= {target})    AS within_target,
        quantile_cont(svc, 0.5)                     AS service_median_min
    FROM rows
    GROUP BY month, office
)
SELECT
    month, office,
    visitors,
    appointments,
    no_shows,
    no_shows / nullif(appointments, 0)                 AS no_show_rate,
    visitors_with_appointment / nullif(visitors, 0)    AS appointment_share,
    served,
    wait_mean_min,
    wait_median_min,
    wait_p90_min,
    wait_max_min,
    within_target / nullif(served, 0)                  AS within_target_share,
    service_median_min
FROM agg
ORDER BY month, office
"""


def sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_struct(d: dict) -> str:
    return "{" + ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in d.items()) + "}"


READ_CSV = """read_csv(
        {src},
        header = true,
        delim = ',',
        quote = '"',
        auto_detect = false,
        columns = {columns},
        timestampformat = '%Y-%m-%dT%H:%M:%S',
        nullstr = ''
    )"""


def sha256_of(path: str, out: list) -> None:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    out.append(h.hexdigest())


def main() -> int:
    args = sys.argv[1:]
    keep = None
    if len(args) == 4 and args[2] == "--keep":
        keep = args[3]
        args = args[:2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = args
    columns = dict(COLUMNS)
    with open(src, encoding="utf-8") as f:
        if "persons" in f.readline().strip().split(","):
            columns["persons"] = "INTEGER"
    read = READ_CSV.format(src=sql_string(src), columns=sql_struct(columns))
    con = duckdb.connect()  # in-memory
    if keep is None:
        query = QUERY.format(raw=read, target=TARGET_MIN)
    else:
        os.makedirs(keep, exist_ok=True)
        original = os.path.join(keep, "original.zst")
        zstd = subprocess.Popen(["zstd", "-q", "-1", "-f", "-T1", src, "-o", original])
        digest: list = []
        hashing = threading.Thread(target=sha256_of, args=(src, digest))
        hashing.start()
        con.execute(f"CREATE TABLE raw_rows AS SELECT * FROM {read}")
        rows = sql_string(os.path.join(keep, "rows.parquet"))
        con.execute(f"COPY raw_rows TO {rows} (FORMAT parquet, COMPRESSION zstd)")
        query = QUERY.format(raw="raw_rows", target=TARGET_MIN)
        hashing.join()
        if zstd.wait() != 0:
            print("zstd failed", file=sys.stderr)
            return 1
        os.rename(original, os.path.join(keep, digest[0] + ".zst"))
    con.execute(f"COPY ({query}) TO {sql_string(out)} (FORMAT csv, HEADER true, DELIMITER ',')")
    with open(out, encoding="utf-8") as f:
        n = sum(1 for _ in f) - 1
    print(f"duckdb {duckdb.__version__}: {n} (month, office) rows -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
