#!/usr/bin/env bash
# Web benchmark: requests per second for the overview page (charts and all), side by side
# with Datasette serving its table page of the same monthly KPIs, and with tower-http's
# ServeDir serving the overview saved as a file. wrk, 2 threads, 32 connections, one run of
# DURATION seconds each, on this machine.
#
#   cargo build --release --bin kennzahl --example serve_dir && benches/web_vs_datasette.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KZ=${KZ:-target/release/kennzahl}
SERVE_DIR=${SERVE_DIR:-target/release/examples/serve_dir}
DURATION=${DURATION:-10}
WORK=${WORK:-target/bench-web}
PYTHON=${PYTHON:-python3}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
"$PYTHON" -c 'import datasette' 2>/dev/null || "$PYTHON" -m pip install -q datasette
rm -rf "$WORK" && mkdir -p "$WORK/static"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_for() { for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done; echo "no answer from $1" >&2; exit 1; }

"$KZ" --data "$WORK/data" serve --listen 127.0.0.1:18080 >"$WORK/kennzahl.log" 2>&1 & pids+=($!)
wait_for http://127.0.0.1:18080/healthz
curl -fs http://127.0.0.1:18080/ > "$WORK/static/index.html"
"$SERVE_DIR" "$WORK/static" 127.0.0.1:18081 & pids+=($!)
wait_for http://127.0.0.1:18081/index.html
"$KZ" --data "$WORK/data" kpi --kind visits --by month,office > "$WORK/kpi.csv"
"$PYTHON" - "$WORK/kpi.csv" "$WORK/kpi.db" <<'PY'
import csv, sqlite3, sys
rows = list(csv.reader(open(sys.argv[1])))
db = sqlite3.connect(sys.argv[2])
db.execute("create table kpi (%s)" % ", ".join('"%s"' % c for c in rows[0]))
db.executemany("insert into kpi values (%s)" % ", ".join("?" * len(rows[0])), rows[1:])
db.commit()
PY
"$PYTHON" -m datasette serve "$WORK/kpi.db" --port 18082 >"$WORK/datasette.log" 2>&1 & pids+=($!)
wait_for http://127.0.0.1:18082/kpi/kpi

run() { # name url [wrk args]
    curl -fs -o /dev/null "$2" # warm the cache: pages are rendered once per data version
    local out; out=$(wrk -t2 -c32 -d"${DURATION}s" --latency "${@:3}" "$2")
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    printf '| %s | %s | %s |\n' "$1" "$rps" "$p99"
}
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t2 -c32 -d${DURATION}s, one run each"
echo
echo "| server, page | requests/s | p99 latency |"
echo "| --- | ---: | ---: |"
run "Kennzahl, overview page /" http://127.0.0.1:18080/
run "Kennzahl, Einwohnermeldeamt page, 6 charts at two sizes" http://127.0.0.1:18080/dashboards/einwohnermeldeamt
run "Kennzahl, the same page, gzip (as browsers ask)" http://127.0.0.1:18080/dashboards/einwohnermeldeamt -H "Accept-Encoding: gzip"
run "tower-http ServeDir, overview saved as a file" http://127.0.0.1:18081/index.html
run "Datasette, table page of the monthly KPIs" http://127.0.0.1:18082/kpi/kpi
