#!/usr/bin/env bash
# Load while publishing: 200 concurrent viewers on the public pages (wrk, rotating over the
# overview, every office page, the API and a chart) while months are corrected and
# published from another process three times. Reports requests/s, p99 latency and errors
# (non-2xx/3xx answers and socket errors), which must be 0.
#
#   cargo build --release --bin kennzahl && DURATION=20 benches/load_while_publishing.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KZ=${KZ:-target/release/kennzahl}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-200}
WORK=${WORK:-target/bench-load}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
rm -rf "$WORK" && mkdir -p "$WORK"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# The open-file limit must hold the viewers (the server keeps below it by itself).
ulimit -n 4096 2>/dev/null || true

"$KZ" --data "$WORK/data" serve --listen 127.0.0.1:18090 >"$WORK/kennzahl.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do curl -fs -o /dev/null http://127.0.0.1:18090/healthz && break; sleep 0.2; done
offices=$(curl -fs http://127.0.0.1:18090/ | grep -o '/dashboards/[a-z0-9-]*' | sort -u)
{
    echo 'local paths = {'
    echo '"/", "/methodik", "/api/v1/kpi/visits?by=month,office", "/downloads/visits.csv",'
    for o in $offices; do echo "\"$o\", \"$o?lang=en\","; done
    echo '}'
    echo 'local i = 0'
    echo 'request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1], {["Accept-Encoding"] = "gzip"}) end'
} > "$WORK/rotate.lua"
# Every page of the rotation once, as earlier visitors would have: pages are rendered once per
# data version, and this measures serving them, not their first render.
for p in $(grep -o '"/[^"]*"' "$WORK/rotate.lua" | tr -d '"'); do
    curl -fs -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:18090$p"
done

row() { # label, wrk output
    local rps p99 total non2xx sock
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$2")
    total=$(awk '/requests in/ {print $1}' <<<"$2")
    non2xx=$(awk '/Non-2xx or 3xx/ {print $NF}' <<<"$2"); non2xx=${non2xx:-0}
    sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$2"); sock=${sock:-0}
    printf '| %s | %s | %s | %s | %s | %s, %s |\n' "$1" "$CONNECTIONS" "$total" "$rps" "$p99" "$non2xx" "$sock"
    [ "$non2xx" = 0 ] && [ "$sock" = 0 ] || { echo "errors under load" >&2; echo "$2" >&2; errors=1; }
}
errors=0
wrk_run() { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s "$WORK/rotate.lua" http://127.0.0.1:18090; }
quiet=$(wrk_run)

# Corrections published while the viewers read: a month of each of three offices again,
# with a reason, from the command line (another process, as a staff upload would be).
(
    sleep $((DURATION / 4))
    for f in einwohnermeldeamt_2026-10.csv:Einwohnermeldeamt auslaenderbehoerde_2026-10.csv:Ausländerbehörde strassenverkehrsamt_2026-10.xlsx:Straßenverkehrsamt; do
        office=${f#*:} f=${f%%:*}
        start=$(date +%s.%N)
        "$KZ" --data "$WORK/data" import "datasets/demo/$f" --kind visits --office "$office" --publish --reason "Lasttest: Korrektur" >/dev/null
        printf 'published %s in %.2f s\n' "$f" "$(echo "$(date +%s.%N) - $start" | bc)"
        sleep $((DURATION / 5))
    done
) > "$WORK/publish.log" 2>&1 & publisher=$!

renders_before=$(curl -fs http://127.0.0.1:18090/metrics | awk '/^kennzahl_renders_total/ {print $2}')
busy=$(wrk_run)
renders=$(( $(curl -fs http://127.0.0.1:18090/metrics | awk '/^kennzahl_renders_total/ {print $2}') - renders_before ))
wait "$publisher"
cat "$WORK/publish.log"
versions=$(curl -fs http://127.0.0.1:18090/metrics | awk '/^kennzahl_data_version/ {print $2}')
echo "machine: $(nproc) CPUs; wrk -t2 -c$CONNECTIONS -d${DURATION}s --timeout 10s over $(wc -w <<<"$offices") office pages (German and English), overview, methodology, API, download; data version at the end: $versions; pages rendered again during the publishing run: $renders"
echo
echo "| run | viewers | requests | requests/s | p99 | errors (non-2xx, socket) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row "nobody publishing" "$quiet"
row "3 corrections published meanwhile" "$busy"
exit "$errors"
