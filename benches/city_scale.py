#!/usr/bin/env python3
"""History at city scale (issue 11): ten years of a big city's visits, imported month by month
with the project's generator, then the questions a city's site is asked, timed as a visitor
and a journalist would meet them.

    cargo build --release --bin kennzahl
    python3 benches/city_scale.py target/release/kennzahl [--years 10] [--rows-per-year 3000000]

Prints one line per measurement (the table of the README). Needs about 2 GB of disk under
--work (default /tmp/kennzahl-city) and, for the cached-page p99, `wrk` if installed.
"""

import argparse
import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("bin", nargs="?", default="target/release/kennzahl")
p.add_argument("--years", type=int, default=10)
p.add_argument("--rows-per-year", type=int, default=3_000_000)
p.add_argument("--first-year", type=int, default=2016)
p.add_argument("--work", default="/tmp/kennzahl-city")
p.add_argument("--port", type=int, default=18124)
p.add_argument("--keep", action="store_true", help="reuse the data folder of an earlier run")
args = p.parse_args()
BIN = os.path.abspath(args.bin)
DATA = os.path.join(args.work, "data")
BASE = f"http://127.0.0.1:{args.port}"


def run(*a, check=True):
    return subprocess.run([BIN, "--data", DATA, *a], check=check, capture_output=True, text=True)


def timed(*a):
    """Wall seconds and peak RSS (MB) of one command."""
    t = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "--data", DATA, *a],
                       capture_output=True, text=True, check=True)
    return time.time() - t, int(r.stderr.strip().splitlines()[-1]) / 1024


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def get(path, timeout=120):
    t = time.time()
    try:
        with urllib.request.urlopen(BASE + path, timeout=timeout) as r:
            r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    return code, time.time() - t


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


months = [(y, m) for y in range(args.first_year, args.first_year + args.years) for m in range(1, 13)]
per_month = args.rows_per_year // 12
os.makedirs(args.work, exist_ok=True)
csv = os.path.join(args.work, "month.csv")
if args.keep and not os.path.exists(os.path.join(DATA, "catalog.sqlite")):
    sys.exit(f"--keep: {DATA} holds no history of an earlier run; run once without --keep")
if not args.keep:
    shutil.rmtree(DATA, ignore_errors=True)
    imports = []
    for y, m in months:
        run("demo", "bench-visits", "--rows", str(per_month), "--start", f"{y}-{m:02d}",
            "--months", "1", "--out", csv)
        t, rss = timed("import", csv, "--kind", "visits", "--publish")
        imports.append((t, rss))
    os.remove(csv)
    first, last = imports[:12], imports[-12:]
    print(f"import one month ({per_month} rows): first year median {statistics.median(t for t, _ in first):.2f} s, "
          f"last year median {statistics.median(t for t, _ in last):.2f} s, peak RSS {max(r for _, r in imports):.0f} MB")
total = du(DATA)
print(f"data folder: {total / 1e9:.2f} GB (originals {du(os.path.join(DATA, 'originals')) / 1e9:.2f} GB, "
      f"batches {du(os.path.join(DATA, 'batches')) / 1e9:.2f} GB) for {len(months) * per_month / 1e6:.0f}M visits")

runs = [timed("kpi", "--kind", "visits", "--by", "month,office") for _ in range(3)]
print(f"kennzahl kpi --kind visits --by month,office over all history: {statistics.median(t for t, _ in runs):.2f} s, "
      f"peak RSS {max(r for _, r in runs):.0f} MB")
runs = [timed("kpi", "--kind", "visits", "--by", "year") for _ in range(3)]
print(f"kennzahl kpi --kind visits --by year: {statistics.median(t for t, _ in runs):.2f} s, "
      f"peak RSS {max(r for _, r in runs):.0f} MB")

server = subprocess.Popen([BIN, "--data", DATA, "serve", "--listen", f"127.0.0.1:{args.port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(600):
        try:
            if get("/healthz", 2)[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    office = "einwohnermeldeamt"
    get("/")
    get(f"/dashboards/{office}")
    peak = rss_mb(server.pid)
    results = {"overview": [], "office": [], "filtered": []}
    for n in range(3):
        # A correction of one month (one row fewer), published while the site runs.
        y, m = months[-1 - n]
        run("demo", "bench-visits", "--rows", str(per_month - 1 - n), "--start", f"{y}-{m:02d}",
            "--months", "1", "--out", csv)
        run("import", csv, "--kind", "visits", "--publish", "--reason", "Korrektur")
        time.sleep(0.2)
        results["overview"].append(get("/")[1])
        results["office"].append(get(f"/dashboards/{office}")[1])
        peak = max(peak, rss_mb(server.pid))
        # Four different filtered views at once.
        periods = [months[(k * len(months)) // 4 + n] for k in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            times = list(pool.map(lambda ym: get(f"/dashboards/{office}?from={ym[0]}-{ym[1]:02d}&to={ym[0] + 1}-{ym[1]:02d}")[1], periods))
        results["filtered"].append(max(times))
        peak = max(peak, rss_mb(server.pid))
    os.remove(csv)
    print(f"first overview after a one-month correction: {statistics.median(results['overview']) * 1000:.0f} ms "
          f"(max {max(results['overview']) * 1000:.0f})")
    print(f"first office page after it: {statistics.median(results['office']) * 1000:.0f} ms "
          f"(max {max(results['office']) * 1000:.0f})")
    print(f"four different filtered office views at once: slowest {statistics.median(results['filtered']) * 1000:.0f} ms "
          f"(max {max(results['filtered']) * 1000:.0f})")
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", "-c20", "-d10s", "--latency", BASE + "/"],
                             capture_output=True, text=True).stdout
        p99 = [l for l in out.splitlines() if l.strip().startswith("99%")]
        rps = [l for l in out.splitlines() if l.startswith("Requests/sec")]
        print(f"cached overview: p99 {p99[0].split()[1] if p99 else '?'}, {rps[0].split()[1] if rps else '?'} req/s")
    else:
        print("cached overview: not measured (install wrk, e.g. apt-get install wrk)")
    print(f"server RSS: peak {max(peak, rss_mb(server.pid)):.0f} MB")
finally:
    server.kill()
    server.wait()
