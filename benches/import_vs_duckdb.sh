#!/usr/bin/env bash
# Side-by-side import benchmark: Kennzahl vs DuckDB on the same visits CSV.
#
#   (A) kennzahl import FILE --kind visits --publish --data DIR
#       kennzahl kpi --kind visits --by month,office --format csv --data DIR > out.csv
#       timed as one figure (both steps) and each step on its own; fresh --data per run.
#   (B) python3 benches/duckdb_visits.py FILE out.csv: read_csv with explicit types and the
#       same monthly KPIs per office; one python3 process per run, so the figure includes
#       interpreter start-up and `import duckdb`.
#   (C) only with SIDES containing duckdb-keep: (B) with `--keep DIR`, DuckDB also keeping what
#       an import keeps besides KPIs: the original zstd-compressed under its SHA-256 and the
#       rows as zstd Parquet (not the partial aggregates, no validation).
#
# Each side runs REPS times (interleaved); the median wall time and median peak RSS
# (GNU time: '%e s %M KB') are reported, with a Markdown table for the README at the end.
#
# Usage (from the repo root, after `cargo build --release`):
#   benches/import_vs_duckdb.sh
# Environment (all optional):
#   KZ     kennzahl binary               (default target/release/kennzahl)
#   ROWS   rows to generate               (default 1000000)
#   REPS   runs per side                  (default 3)
#   WORK   scratch folder                 (default target/bench)
#   PERSONS 1: the export has a `persons` column, as many queue systems write (default 0)
#   CSV    input file; generated with `$KZ demo bench-visits` only if missing
#          (default $WORK/visits_1m.csv for 1M rows, else $WORK/visits_${ROWS}.csv;
#          with PERSONS=1, visits_1m_persons.csv / visits_${ROWS}_persons.csv)
#   SIDES  which sides to run             (default "kennzahl duckdb"; add duckdb-keep for C)
#   PYTHON python interpreter             (default python3)
# Relative paths are taken from the repo root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

KZ=${KZ:-target/release/kennzahl}
ROWS=${ROWS:-1000000}
REPS=${REPS:-3}
WORK=${WORK:-target/bench}
SIDES=${SIDES:-kennzahl duckdb}
PYTHON=${PYTHON:-python3}
PERSONS=${PERSONS:-0}
if [[ $ROWS == 1000000 ]]; then default_csv=$WORK/visits_1m; else default_csv=$WORK/visits_${ROWS}; fi
persons_flag=()
if [[ $PERSONS == 1 ]]; then default_csv+=_persons; persons_flag=(--persons); fi
default_csv+=.csv
CSV=${CSV:-$default_csv}
DUCK_SQL=benches/duckdb_visits.py
FMT='%e s %M KB'

want() { [[ " $SIDES " == *" $1 "* ]]; }
die() { echo "error: $*" >&2; exit 1; }

[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$REPS'"
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive integer, got '$ROWS'"
want kennzahl || want duckdb || want duckdb-keep || die "SIDES must name kennzahl and/or duckdb, got '$SIDES'"

mkdir -p "$WORK/logs"
WORK=$(cd "$WORK" && pwd)
LOGS=$WORK/logs
T=$(mktemp -d "$WORK/times.XXXXXX")
trap 'rm -rf "$T" "$WORK"/run.*' EXIT

# --- prerequisites -----------------------------------------------------------------------
apt_install() {   # a Debian package
    echo "installing $1 (apt-get) ..."
    local sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$1" >/dev/null
}
[[ -x /usr/bin/time ]] || apt_install time
if want duckdb-keep && ! command -v zstd >/dev/null; then apt_install zstd; fi
if { want duckdb || want duckdb-keep; } && ! "$PYTHON" -c 'import duckdb' 2>/dev/null; then
    echo "installing the duckdb Python package (pip) ..."
    "$PYTHON" -m pip install --quiet duckdb
fi
kz_ok() { command -v "$KZ" >/dev/null 2>&1; }
if want kennzahl || [[ ! -s $CSV ]]; then
    kz_ok || die "no kennzahl binary at '$KZ' (build it: cargo build --release, or set KZ)"
    KZ=$(command -v "$KZ")
    [[ $KZ == /* ]] || KZ=$PWD/$KZ
fi

# --- input -------------------------------------------------------------------------------
if [[ ! -s $CSV ]]; then
    echo "generating $CSV ($ROWS rows) ..."
    mkdir -p "$(dirname "$CSV")"
    partial=${CSV%.csv}.partial.csv
    "$KZ" demo bench-visits --rows "$ROWS" "${persons_flag[@]}" --out "$partial"
    mv "$partial" "$CSV"
fi
CSV=$(cd "$(dirname "$CSV")" && pwd)/$(basename "$CSV")
data_rows=$(( $(wc -l < "$CSV") - 1 ))
csv_mb=$(awk -v b="$(stat -c %s "$CSV")" 'BEGIN { printf "%.0f", b / 1048576 }')
cat "$CSV" > /dev/null   # same warm page cache for both sides

# --- helpers -------------------------------------------------------------------------------
secs() { tail -n 1 "$1" | awk '{ print $1 }'; }
kb()   { tail -n 1 "$1" | awk '{ print $3 }'; }
mb()   { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# median of field F (secs|kb) over files $T/NAME.1 .. $T/NAME.REPS
med() { local f=$1 name=$2 i; for ((i = 1; i <= REPS; i++)); do "$f" "$T/$name.$i"; done | median; }
fail() { echo "error: $1 failed; last lines of $2:" >&2; tail -n 20 "$2" >&2; exit 1; }

# --- runs ----------------------------------------------------------------------------------
echo "== import benchmark: $data_rows rows, $csv_mb MB ($CSV), $REPS runs per side"
KZ_OUT=$WORK/kennzahl_kpi.csv
DUCK_OUT=$WORK/duckdb_kpi.csv
DUCK_KEEP_OUT=$WORK/duckdb_keep_kpi.csv
for ((i = 1; i <= REPS; i++)); do
    line="run $i/$REPS:"
    if want kennzahl; then
        run=$(mktemp -d "$WORK/run.XXXXXX")
        log=$LOGS/kennzahl.$i.log
        : > "$log"
        # outer time: both steps as one figure; inner times: each step
        /usr/bin/time -f "$FMT" -o "$T/kz_total.$i" bash -c '
            set -euo pipefail
            fmt=$1 kz=$2 csv=$3 data=$4 out=$5 t_import=$6 t_kpi=$7 log=$8
            /usr/bin/time -f "$fmt" -o "$t_import" \
                "$kz" import "$csv" --kind visits --publish --data "$data" >>"$log" 2>&1
            /usr/bin/time -f "$fmt" -o "$t_kpi" \
                "$kz" kpi --kind visits --by month,office --format csv --data "$data" >"$out" 2>>"$log"
        ' _ "$FMT" "$KZ" "$CSV" "$run/data" "$KZ_OUT" "$T/kz_import.$i" "$T/kz_kpi.$i" "$log" \
            >>"$log" 2>&1 || fail "kennzahl (run $i)" "$log"
        rm -rf "$run"
        line+=" kennzahl import $(secs "$T/kz_import.$i") s $(mb "$(kb "$T/kz_import.$i")") MB,"
        line+=" kpi $(secs "$T/kz_kpi.$i") s $(mb "$(kb "$T/kz_kpi.$i")") MB,"
        line+=" total $(secs "$T/kz_total.$i") s;"
    fi
    if want duckdb; then
        log=$LOGS/duckdb.$i.log
        /usr/bin/time -f "$FMT" -o "$T/duck.$i" "$PYTHON" "$DUCK_SQL" "$CSV" "$DUCK_OUT" >"$log" 2>&1 \
            || fail "duckdb (run $i)" "$log"
        line+=" duckdb $(secs "$T/duck.$i") s $(mb "$(kb "$T/duck.$i")") MB"
    fi
    if want duckdb-keep; then
        log=$LOGS/duckdb_keep.$i.log
        keep=$(mktemp -d "$WORK/run.XXXXXX")
        /usr/bin/time -f "$FMT" -o "$T/duck_keep.$i" "$PYTHON" "$DUCK_SQL" "$CSV" "$DUCK_KEEP_OUT" \
            --keep "$keep" >"$log" 2>&1 || fail "duckdb --keep (run $i)" "$log"
        rm -rf "$keep"
        line+=" duckdb keeping $(secs "$T/duck_keep.$i") s $(mb "$(kb "$T/duck_keep.$i")") MB"
    fi
    echo "$line"
done
if want duckdb; then   # what the DuckDB figure spends before reading a byte
    for ((i = 1; i <= REPS; i++)); do
        /usr/bin/time -f "$FMT" -o "$T/pystart.$i" "$PYTHON" -c 'import duckdb'
    done
fi

# --- report --------------------------------------------------------------------------------
ratio() {   # kennzahl / duckdb
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "—"; else printf "%.2f×", a / b }'
}
or_dash() { if [[ -n $1 ]]; then echo "$1"; else echo "—"; fi; }

kz_import_s= kz_kpi_s= kz_total_s= kz_import_mb= kz_kpi_mb= kz_total_mb=
duck_s= duck_mb= pystart_s= duck_keep_s= duck_keep_mb=
if want kennzahl; then
    kz_import_s=$(med secs kz_import); kz_import_mb=$(mb "$(med kb kz_import)")
    kz_kpi_s=$(med secs kz_kpi);       kz_kpi_mb=$(mb "$(med kb kz_kpi)")
    kz_total_s=$(med secs kz_total);   kz_total_mb=$(mb "$(med kb kz_total)")
fi
if want duckdb; then
    duck_s=$(med secs duck); duck_mb=$(mb "$(med kb duck)")
    pystart_s=$(med secs pystart)
fi
if want duckdb-keep; then
    duck_keep_s=$(med secs duck_keep); duck_keep_mb=$(mb "$(med kb duck_keep)")
fi

model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gb=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
echo
echo "machine: $(nproc) CPUs, ${model:-unknown CPU}, ${mem_gb} GB RAM, $(uname -sr)"
if want kennzahl; then echo "kennzahl: $("$KZ" --version 2>/dev/null || echo "$KZ")"; fi
if want duckdb; then
    echo "duckdb: $("$PYTHON" -c 'import duckdb, sys; print(duckdb.__version__, "on Python", sys.version.split()[0])')"
fi
echo "input: $data_rows rows, $csv_mb MB; medians of $REPS runs; peak = max resident set size"
if want duckdb; then
    echo "note: the DuckDB figure is one python3 process per run and includes interpreter start-up"
    echo "      and 'import duckdb' (alone: $pystart_s s), read_csv, the KPIs and the CSV write."
fi
# Every KPI value of both sides must agree (the DuckDB side is an independent computation).
same_kpis() {   # kennzahl's KPI CSV, a DuckDB side's, the side's name
    local kz_rows duck_rows
    kz_rows=$(( $(wc -l < "$1") - 1 )); duck_rows=$(( $(wc -l < "$2") - 1 ))
    echo "output: kennzahl $kz_rows (month, office) rows, $3 $duck_rows ($1, $2)"
    [[ $kz_rows == "$duck_rows" ]] || echo "WARNING: the two sides produced a different number of rows"
    "$PYTHON" - "$1" "$2" <<'PY'
import csv, sys
kz = {(r["month"], r["office"]): r for r in csv.DictReader(open(sys.argv[1]))}
dk = {(r["month"], r["office"]): r for r in csv.DictReader(open(sys.argv[2]))}
checked = bad = 0
for key, row in kz.items():
    for col, v in row.items():
        if col in ("month", "office", "provisional") or col not in dk.get(key, {}):
            continue
        checked += 1
        d = float(dk[key][col])
        if v == "." or abs(float(v) - d) > 1e-9 * max(1.0, abs(d)):
            bad += 1
            print(f"MISMATCH {key} {col}: kennzahl {v}, duckdb {d}")
print(f"values: {checked} KPI values compared, {bad} differ")
sys.exit(1 if bad or set(kz) != set(dk) else 0)
PY
}
if want kennzahl && want duckdb; then same_kpis "$KZ_OUT" "$DUCK_OUT" duckdb; fi
if want kennzahl && want duckdb-keep; then same_kpis "$KZ_OUT" "$DUCK_KEEP_OUT" "duckdb keeping"; fi

echo
echo "| step | kennzahl s | duckdb s | ratio | peak MB (kennzahl / duckdb) |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| import ($data_rows rows → published) | $(or_dash "$kz_import_s") | — | — | $(or_dash "$kz_import_mb") |"
echo "| kpi (month × office → CSV) | $(or_dash "$kz_kpi_s") | — | — | $(or_dash "$kz_kpi_mb") |"
echo "| CSV in → KPI CSV out (total) | $(or_dash "$kz_total_s") | $(or_dash "$duck_s") | $(ratio "$kz_total_s" "$duck_s") | $(or_dash "$kz_total_mb") / $(or_dash "$duck_mb") |"
if want duckdb-keep; then
    echo "| the same, DuckDB also keeping original and rows | $(or_dash "$kz_total_s") | $duck_keep_s | $(ratio "$kz_total_s" "$duck_keep_s") | $(or_dash "$kz_total_mb") / $duck_keep_mb |"
fi
echo
echo "ratio = kennzahl / duckdb (above 1: Kennzahl slower). DuckDB does no validation, no"
echo "storage and no revisions; it only reads the CSV and aggregates."
if want duckdb-keep; then
    echo "In the last row DuckDB also keeps the original (zstd level 1, SHA-256) and the rows (zstd"
    echo "Parquet); still no validation, no partial aggregates and no revisions."
fi
