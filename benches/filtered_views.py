#!/usr/bin/env python3
"""Four different filtered office views at once, against a data folder that already holds a
city (one built by `benches/city_scale.py --keep`, say): the wall time of the slowest view and
the CPU time the server spent, per round. CPU time moves less than wall time on a busy machine,
so two builds compare best by it, run alternately on folders each of them built.

Usage:
    python3 benches/filtered_views.py BIN DATA [--rounds 6] [--years 2016,2018,2021,2024]
                                               [--office einwohnermeldeamt] [--port 18200]

Each round asks four views of a year each (`?from=YYYY-MM&to=YYYY+1-MM`), starting in the
given years; no period is asked twice, so no round is answered from the response cache.
"""
import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("bin")
p.add_argument("data")
p.add_argument("--rounds", type=int, default=6)
p.add_argument("--years", default="2016,2018,2021,2024")
p.add_argument("--office", default="einwohnermeldeamt")
p.add_argument("--port", type=int, default=18200)
args = p.parse_args()
years = [int(y) for y in args.years.split(",")]
periods = [(y, m) for y in years for m in range(1, 13)]
if args.rounds * 4 > len(periods):
    sys.exit(f"at most {len(periods) // 4} rounds without asking a period twice")

server = subprocess.Popen([args.bin, "--data", args.data, "serve", "--listen", f"127.0.0.1:{args.port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def get(path):
    start = time.time()
    with urllib.request.urlopen(f"http://127.0.0.1:{args.port}{path}", timeout=120) as r:
        r.read()
    return time.time() - start


def cpu_seconds():
    fields = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


try:
    for _ in range(600):
        try:
            get("/healthz")
            break
        except OSError:
            time.sleep(0.1)
    get("/")
    get(f"/dashboards/{args.office}")
    walls, cpus = [], []
    for n in range(args.rounds):
        # Four periods of different years in each round.
        asked = [periods[(k * len(periods)) // 4 + n] for k in range(4)]
        before = cpu_seconds()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            times = list(pool.map(
                lambda ym: get(f"/dashboards/{args.office}?from={ym[0]}-{ym[1]:02d}&to={ym[0] + 1}-{ym[1]:02d}"),
                asked))
        cpus.append(cpu_seconds() - before)
        walls.append(max(times))
    print(f"four filtered views at once, {args.rounds} rounds: slowest view median "
          f"{statistics.median(walls) * 1000:.0f} ms (min {min(walls) * 1000:.0f}, max {max(walls) * 1000:.0f}); "
          f"server CPU per round median {statistics.median(cpus) * 1000:.0f} ms "
          f"(min {min(cpus) * 1000:.0f}, max {max(cpus) * 1000:.0f})")
finally:
    server.kill()
    server.wait()
