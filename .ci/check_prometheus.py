#!/usr/bin/env python3
"""A real Prometheus server scraping a spigo run (Debian's prometheus package).

Usage: check_prometheus.py SPIGO_BINARY

1. `promtool check metrics` accepts a /metrics scrape taken while the run goes.
2. A Prometheus server scrapes the run every second; --linger keeps /metrics
   up after the run, so the last scrape has the final figures. Then:
   - the scraped gets equal summary.json's `requests.gets.sent`;
   - histogram_quantile(0.99, ...) over the homepage's response buckets is a
     number inside the bucket that holds summary.json's homepage p99;
   - rate() of requests while the run went is above zero;
   - the resilient example's calls and work: spigo_calls_total equals
     summary.json's calls, rate(busy seconds) / slots is a utilisation.
Every process started here is stopped by its PID on the way out.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

spigo = os.path.abspath(sys.argv[1])
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1,
           0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(prom, expr, at=None):
    args = {"query": expr}
    if at is not None:
        args["time"] = f"{at:.3f}"
    body = json.loads(fetch(f"http://{prom}/api/v1/query?" + urllib.parse.urlencode(args)))
    assert body["status"] == "success", body
    return body["data"]["result"]


work = tempfile.mkdtemp()
procs = []
try:
    run = subprocess.Popen(
        [spigo, "-a", "netflixoss-resilient", "-w", "2", "-d", "8", "-c", "--seed", "7",
         "--http", "127.0.0.1:0", "--linger", "60s", "--out", work],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(run)
    log, addr = [], None
    for line in run.stderr:
        log.append(line)
        if "HTTP metrics now available at http://" in line:
            addr = line.split("HTTP metrics now available at http://", 1)[1].split("/", 1)[0]
            break
    threading.Thread(target=lambda: log.extend(run.stderr), daemon=True).start()
    assert addr, "spigo never logged its HTTP address:\n" + "".join(log)

    prom = f"127.0.0.1:{free_port()}"
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: spigo\n    static_configs:\n"
                f"      - targets: ['{addr}']\n")
    server = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
         f"--web.listen-address={prom}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(server)

    time.sleep(3)
    scrape = fetch(f"http://{addr}/metrics")
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape, text=True,
                          capture_output=True)
    assert lint.returncode == 0, "promtool check metrics:\n" + lint.stdout + lint.stderr
    print(f"promtool check metrics: clean ({len(scrape.splitlines())} lines)")

    summary_file = os.path.join(work, "summary.json")
    deadline = time.time() + 60
    while not os.path.exists(summary_file):
        assert time.time() < deadline and run.poll() is None, "no summary.json:\n" + "".join(log)
        time.sleep(0.2)
    time.sleep(0.5)
    summary = json.load(open(summary_file))
    ended = time.time()
    # Two scrapes after the end: the last one holds the final figures.
    time.sleep(3)

    def one(expr, at=None):
        result = query(prom, expr, at)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    gets = one('spigo_requests_total{job="spigo",arch="netflixoss-resilient",kind="get"}')
    assert gets == summary["requests"]["gets"]["sent"], (gets, summary["requests"]["gets"])
    p99 = one('histogram_quantile(0.99, sum by (le) '
              '(spigo_response_seconds_bucket{service="homepage"}))')
    expected = summary["services"]["homepage"]["response_ms"]["p99"] / 1000
    upper = next(b for b in BUCKETS if b >= expected)
    lower = max([0.0] + [b for b in BUCKETS if b < upper])
    assert lower <= p99 <= upper, (p99, expected, lower, upper)
    rate = one('sum(rate(spigo_requests_total{kind="get"}[5s]))', at=ended - 1)
    assert rate > 0, rate
    print(f"prometheus: {int(gets)} gets scraped as summary.json has them; homepage p99 "
          f"{p99 * 1000:.2f} ms by histogram_quantile (summary {expected * 1000:.2f} ms, "
          f"bucket {lower}-{upper} s); {rate:.0f} gets/s while running")

    # The work models' and guarded calls' families: the last scrape's
    # counts are summary.json's, and rates give a utilisation.
    calls = one('sum(spigo_calls_total{service="wwwproxy",dependency="homepage"})')
    want = summary["services"]["wwwproxy"]["dependencies"]["homepage"]["calls"]
    assert calls == want, (calls, want)
    util = one('sum(rate(spigo_work_busy_seconds_total{service="homepage"}[5s])) / '
               'sum(spigo_work_slots{service="homepage"})', at=ended - 1)
    assert 0 < util < 1, util
    opened = one('sum(spigo_breaker_transitions_total{to="open"})')
    open_now = one('sum(spigo_breakers_open)')
    assert 0 <= open_now <= opened, (open_now, opened)
    print(f"prometheus: wwwproxy -> homepage {int(calls)} calls as summary.json has them; "
          f"homepage {util:.1%} busy by rate(busy seconds) / slots; breakers opened {int(opened)}")

    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=20) == 0, "".join(log)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)
