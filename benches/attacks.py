#!/usr/bin/env python3
"""The attacks of issue 9, measured against a release binary as an attacker would run them.

    cargo build --release --bin kennzahl && python3 benches/attacks.py target/release/kennzahl

Each attack starts the server on a fresh data folder (the demo city) under `ulimit -n 1024`
and prints one line: what was done and what it cost the server (memory, catalogue size,
time to answer a visitor meanwhile). Run it against an older binary to see the difference.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/kennzahl")
PORT = 18123
BASE = f"http://127.0.0.1:{PORT}"


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def get(path, timeout=30):
    try:
        with urllib.request.urlopen(BASE + path, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    def __init__(self, data):
        self.data = data
        cmd = f'ulimit -n 1024 && exec "{BIN}" --data "{data}" serve --listen 127.0.0.1:{PORT}'
        self.proc = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(1200):
            try:
                if get("/healthz", 2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        get("/")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def attack_cache(data):
    s = Server(data)
    before = rss_mb(s.proc.pid)
    codes = {}
    start = time.time()
    for n in range(40):
        code, _ = get(f"/api/v1/kpi/visits?by=month,office,location,service,weekday,hour,appointment&compare=1&x={n}", 120)
        codes[code] = codes.get(code, 0) + 1
    unknown = rss_mb(s.proc.pid)
    # The same with valid, all-different questions (a new period each time).
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
    valid = {}
    for n in range(40):
        frm = months[n % 20]
        code, _ = get(f"/api/v1/kpi/visits?by=month,office,location,service,weekday,hour,appointment&compare=true&from={frm}&office={'Einwohnermeldeamt' if n >= 20 else 'Stra%C3%9Fenverkehrsamt'}", 120)
        valid[code] = valid.get(code, 0) + 1
    after = rss_mb(s.proc.pid)
    spellings = [get(p)[0] for p in ("/reports/2026-0010.pdf", "/reports/+2026-010.json", "/reports/%202026-10.json")]
    s.stop()
    print(f"cache: 40 × unknown parameter x=N → {codes}, RSS {before:.0f} → {unknown:.0f} MB; "
          f"40 × valid distinct expensive API questions → {valid}, RSS → {after:.0f} MB "
          f"({time.time() - start:.1f} s); non-canonical report months → {spellings}")


def attack_login(data):
    s = Server(data)
    catalog = os.path.join(data, "catalog.sqlite")
    size = lambda: sum(os.path.getsize(catalog + x) for x in ("", "-wal") if os.path.exists(catalog + x))
    before = size()
    name = "a" * (2 << 20)
    codes = {}
    for _ in range(25):
        # As a browser would: the login form's token and its cookie first.
        with urllib.request.urlopen(BASE + "/staff/login", timeout=30) as r:
            cookie = r.headers.get("Set-Cookie", "").split(";")[0]
            html = r.read().decode()
        token = html.split('name="csrf" value="')[1].split('"')[0]
        body = urllib.parse.urlencode({"name": name, "password": "x", "csrf": token}).encode()
        req = urllib.request.Request(BASE + "/staff/login", data=body, method="POST", headers={"Cookie": cookie})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        except OSError:
            code = "closed"
        codes[code] = codes.get(code, 0) + 1
    time.sleep(0.5)
    after = size()
    s.stop()
    print(f"login flood: 25 × POST /staff/login with a 2 MB name → {codes}; catalogue {before / 1e3:.0f} KB → {after / 1e3:.0f} KB")


def attack_slowloris(data):
    s = Server(data)
    held = []
    for _ in range(1100):
        try:
            c = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            held.append(c)
        except OSError:
            break
    start = time.time()
    try:
        code, _ = get("/", 60)
    except OSError as e:
        code = f"failed ({e.__class__.__name__})"
    took = time.time() - start
    probe = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    probe.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    probe.settimeout(30)
    t0 = time.time()
    try:
        closed = probe.recv(1) == b""
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    open_for = time.time() - t0
    alive = s.proc.poll() is None
    for c in held:
        c.close()
    s.stop()
    state = f"closed after {open_for:.1f} s" if closed else f"still open after {open_for:.0f} s"
    print(f"slowloris: {len(held)} half-header connections (ulimit -n 1024) → GET / {code} in {took:.1f} s; "
          f"a half-sent header {state}; server running: {alive}")


def main():
    for attack in (attack_cache, attack_login, attack_slowloris):
        with tempfile.TemporaryDirectory() as d:
            attack(d)


if __name__ == "__main__":
    main()
