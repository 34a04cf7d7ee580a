#!/usr/bin/env python3
"""A stand-in for spigo's graph viewer server, for working on the browser side
(coordinator/web/) without the Rust server. Python standard library only.

It takes the same command lines as spigo, so it can also stand in for the
spigo binary in .ci/check_viewer.py:

  mock_viewer_server.py serve --port 8080 --out DIR
      Serve DIR/json/*.json: /, /viewer.js, /api/graphs, /json/<name>.json.

  mock_viewer_server.py -a fsm -p 300 -d 12 --live --http 127.0.0.1:8080
      Run the real spigo briefly (-d 2) to get a graph, then replay its entries
      over the requested duration on /api/live as Server-Sent Events (entry,
      metrics once a second, end), scaled by their timestamps. Exits a few
      seconds after the replay ends, like a finished run.

  mock_viewer_server.py --replay FILE.json [-d 20] [--port 8080] [--out DIR] [--drop-after N]
      Replay an existing GraphJSON file live (DIR adds static graphs).
      --drop-after N closes the first live connection after N entries
      without an end event, to try the page's reconnecting.

  anything else is passed to the real spigo (env SPIGO_REAL, default
  target/release/spigo next to this folder).
"""
import argparse
import datetime
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB = os.path.join(ROOT, "coordinator", "web")
REAL = os.environ.get("SPIGO_REAL", os.path.join(ROOT, "target", "release", "spigo"))


def parse_time(ts):
    """RFC 3339 with nanoseconds -> seconds; Python wants at most microseconds."""
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", ts or "")
    if not m:
        return 0.0
    frac = (m.group(2) or ".0")[:7]
    tz = m.group(3) or "+00:00"
    if tz == "Z":
        tz = "+00:00"
    return datetime.datetime.fromisoformat(m.group(1) + frac + tz).timestamp()


def list_graphs(out):
    """The /api/graphs list: name, file, arch and step of every json/*.json."""
    folder = os.path.join(out, "json") if out else None
    graphs = []
    if folder and os.path.isdir(folder):
        for fn in sorted(os.listdir(folder)):
            if not fn.endswith(".json"):
                continue
            name = fn[:-5]
            m = re.match(r"^(.*?)(\d+)$", name)
            arch, step = (m.group(1), int(m.group(2))) if m and m.group(1) else (name, None)
            graphs.append({"name": name, "file": f"/json/{fn}", "arch": arch, "step": step})
    return graphs


class Replay:
    """Entries with the second (from the start of the replay) each is due."""

    def __init__(self, doc, duration, drop_after=None):
        self.drop_after = drop_after
        self.connections = 0
        entries = doc.get("graph", [])
        times = [parse_time(e.get("timestamp")) for e in entries]
        t0 = min(times) if times else 0.0
        span = max((t - t0 for t in times), default=0.0) or 1.0
        # Leave the first half-second quiet so a page that connects early sees
        # the graph arrive, and stretch the rest over the duration.
        self.due = [0.5 + (t - t0) / span * max(duration - 1.0, 0.5) for t in times]
        self.entries = entries
        self.duration = duration
        self.start = time.monotonic()
        self.finished_at = None


def make_handler(out, replay):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if os.environ.get("MOCK_VERBOSE"):
                sys.stderr.write("mock: " + fmt % args + "\n")

        def send_bytes(self, body, ctype, status=200):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = urlparse(self.path).path
            if path in ("/", "/index.html"):
                self.send_file(os.path.join(WEB, "index.html"), "text/html; charset=utf-8")
            elif path == "/viewer.js":
                self.send_file(os.path.join(WEB, "viewer.js"), "text/javascript; charset=utf-8")
            elif path == "/api/graphs":
                body = {"live": replay is not None, "graphs": list_graphs(out)}
                self.send_bytes(json.dumps(body).encode(), "application/json")
            elif path.startswith("/json/") and re.match(r"^/json/[\w.-]+\.json$", path):
                self.send_file(os.path.join(out or "", "json", path[6:]), "application/json")
            elif path == "/api/live" and replay is not None:
                self.stream(replay)
            else:
                self.send_bytes(b"not found\n", "text/plain", 404)

        def send_file(self, fn, ctype):
            try:
                with open(fn, "rb") as f:
                    body = f.read()
            except OSError:
                self.send_bytes(b"not found\n", "text/plain", 404)
                return
            self.send_bytes(body, ctype)

        def event(self, name, data):
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode())

        def stream(self, rp):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            i, next_metrics, requests = 0, 0.0, 0
            rp.connections += 1
            drop_at = rp.drop_after if rp.connections == 1 else None
            try:
                while True:
                    now = time.monotonic() - rp.start
                    while i < len(rp.entries) and rp.due[i] <= now:  # replay, then live
                        self.event("entry", rp.entries[i])
                        i += 1
                        if drop_at is not None and i >= drop_at:
                            self.wfile.flush()
                            return
                    if now >= next_metrics:
                        requests = int(now * 100)
                        self.event("metrics", fake_metrics(rp.entries[:i], requests))
                        next_metrics = now + 1.0
                    self.wfile.flush()
                    if i >= len(rp.entries) and now >= rp.duration:
                        self.event("end", {})
                        self.wfile.flush()
                        rp.finished_at = rp.finished_at or time.monotonic()
                        return
                    nxt = min(rp.due[i] if i < len(rp.entries) else rp.duration, next_metrics)
                    time.sleep(min(max(nxt - now, 0.005), 0.25))
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def fake_metrics(seen, requests):
    services = {}
    for e in seen:
        if "node" in e:
            pkg = e.get("package", "unknown")
            s = services.setdefault(pkg, {"count": 0})
            s["count"] += 1
    rnd = random.Random(len(seen))
    for s in services.values():
        s["p50_us"] = rnd.randint(50, 400)
        s["p99_us"] = s["p50_us"] * rnd.randint(3, 8)
    return {"services": services, "requests": requests, "answered": int(requests * 0.99)}


def serve(port, out, replay, host="127.0.0.1", linger=None):
    httpd = ThreadingHTTPServer((host, port), make_handler(out, replay))
    httpd.daemon_threads = True
    what = "live run" if replay else (out or ".")
    print(f"spigo: serving {what} on http://{host}:{httpd.server_address[1]}", file=sys.stderr, flush=True)
    if replay is not None and linger is not None:
        # End the process a little after the run, as spigo --live does.
        def watch():
            while True:
                time.sleep(0.2)
                late = time.monotonic() - replay.start > replay.duration + linger + 30
                if (replay.finished_at and time.monotonic() - replay.finished_at > linger) or late:
                    httpd.shutdown()
                    return
        threading.Thread(target=watch, daemon=True).start()
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


def duration_seconds(text):
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m)?$", text)
    if not m:
        return 10.0
    v = float(m.group(1))
    return {"ms": v / 1000, "m": v * 60}.get(m.group(2), v)


def main(argv):
    if argv and argv[0] == "serve":
        ap = argparse.ArgumentParser(prog="mock serve")
        ap.add_argument("--port", type=int, default=8080)
        ap.add_argument("--out", default=".")
        a = ap.parse_args(argv[1:])
        serve(a.port, a.out, None)
        return 0

    if "--replay" in argv:
        ap = argparse.ArgumentParser(prog="mock --replay")
        ap.add_argument("--replay", required=True)
        ap.add_argument("-d", "--duration", default="20")
        ap.add_argument("--port", type=int, default=8080)
        ap.add_argument("--out", default=None)
        ap.add_argument("--drop-after", type=int, default=None)
        a = ap.parse_args(argv)
        with open(a.replay) as f:
            doc = json.load(f)
        serve(a.port, a.out, Replay(doc, duration_seconds(a.duration), a.drop_after))
        return 0

    if "--live" in argv:
        args = list(argv)
        args.remove("--live")
        http = "127.0.0.1:8080"
        if "--http" in args:
            k = args.index("--http")
            http = args[k + 1]
            del args[k:k + 2]
        duration = 10.0
        for flag in ("-d", "--duration"):
            if flag in args:
                k = args.index(flag)
                duration = duration_seconds(args[k + 1])
                del args[k:k + 2]
        out = None
        if "--out" in args:
            k = args.index("--out")
            out = args[k + 1]
            del args[k:k + 2]
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [REAL, *args, "-d", str(min(duration, 2.0)), "-j", "--out", tmp]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            files = os.listdir(os.path.join(tmp, "json"))
            with open(os.path.join(tmp, "json", files[0])) as f:
                doc = json.load(f)
        host, port = http.rsplit(":", 1)
        serve(int(port), out, Replay(doc, duration), host=host, linger=2.0)
        return 0

    os.execv(REAL, [REAL, *argv])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
