"""Real-consumer checks of spigo's metrics (-c).

Usage: check_metrics.py SPIGO_BINARY

1. During a running simulation, /metrics is parsed by prometheus_client's
   text parser (histogram families, buckets rising to +Inf == count) and
   /debug/vars is valid JSON.
2. The metrics file has every figure of every metric per service (the flow
   file is checked by check_traces.py).
3. A million-pirate run with -c uses at most 10% more memory than without.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

spigo = os.path.abspath(sys.argv[1])


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


out = tempfile.mkdtemp()
# Port 0: spigo listens on a free port and logs the address it got.
run = subprocess.Popen(
    [spigo, "-a", "netflixoss", "-w", "2", "-d", "6", "-c", "--http", "127.0.0.1:0", "--nodes", "2"],
    cwd=out, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
log = []
addr = None
for line in run.stderr:
    log.append(line)
    if "HTTP metrics now available at http://" in line:
        addr = line.split("HTTP metrics now available at http://", 1)[1].split("/", 1)[0]
        break
# Keep reading the log so spigo never blocks on it.
reader = threading.Thread(target=lambda: log.extend(run.stderr), daemon=True)
reader.start()
try:
    assert addr, "spigo never logged its HTTP address:\n" + "".join(log)
    time.sleep(4)
    families = {f.name: f for f in text_string_to_metric_families(fetch(f"http://{addr}/metrics"))}
    for name in ("spigo_delivery_seconds", "spigo_service_seconds", "spigo_response_seconds"):
        fam = families[name]
        assert fam.type == "histogram", (name, fam.type)
        by_service = {}
        for s in fam.samples:
            # One series per service and region (and arch).
            key = (s.labels["service"], s.labels["region"], s.labels["arch"])
            by_service.setdefault(key, []).append(s)
        assert by_service, f"{name} has no services"
        for service, samples in by_service.items():
            buckets = [s for s in samples if s.name.endswith("_bucket")]
            counts = [s.value for s in buckets]
            assert counts == sorted(counts), f"{name}{{{service}}} buckets fall"
            inf = [s.value for s in buckets if s.labels["le"] == "+Inf"]
            total = [s.value for s in samples if s.name.endswith("_count")]
            assert inf == total, (name, service, inf, total)
    assert families["spigo_requests"].samples[0].value > 0, "no requests counted"
    vars_ = json.loads(fetch(f"http://{addr}/debug/vars"))
    assert vars_["spigo"]["arch"] == "netflixoss" and vars_["spigo"]["nodes"] == 2, vars_["spigo"]
    print(f"/metrics: {len(families)} families parsed by prometheus_client; /debug/vars is JSON")
finally:
    run.wait(timeout=60)
    reader.join(timeout=10)
assert run.returncode == 0, "".join(log)

metrics = json.load(open(f"{out}/json_metrics/netflixoss_metrics.json"))
for figures in metrics["services"].values():
    for m in ("delivery", "service", "response"):
        assert set(figures[m]) >= {"count", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}
print("json_metrics: every service has every figure of every metric")


def peak_rss(args):
    probe = ("import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(subprocess.check_output([sys.executable, "-c", probe, spigo] + args, cwd=out))


base = ["-a", "fsm", "-p", "1000000", "-d", "0"]
plain = peak_rss(base)
collected = peak_rss(base + ["-c", "--http", "none"])
growth = collected / plain - 1
print(f"1M pirates: peak RSS {plain // 1024} MB, with -c {collected // 1024} MB ({growth:+.1%})")
assert growth <= 0.10, "metrics cost more than 10% memory"
