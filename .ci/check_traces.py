#!/usr/bin/env python3
"""The flow files as a Zipkin collector takes them.

Usage: check_traces.py SPIGO_BINARY

Three runs write json_metrics/<arch>_flow.json: seed 11 over two node
processes, seed 12, and seed 11 again in one process. Each file is validated
(jsonschema, draft 2020-12 with formats) against .ci/schemas/zipkin-v2-spans.json,
the Zipkin v2 span list, with the fields the schema leaves optional that
spigo always writes (name, timestamp, duration, kind, a service name); then,
as a collector would need:
- no trace id of the seed-11 run appears in the seed-12 run (two runs sent to
  one collector never collide), while the repeated seed gives the same
  high half of the trace ids;
- a span id names one span of its trace (or a CLIENT and the SERVER marked
  shared, Zipkin's RPC model) and every parentId is a span of it;
- a CLIENT or SERVER span ends no later than the CLIENT or SERVER span it is
  a child of (fire-and-forget work is PRODUCER/CONSUMER and may outlive it).
"""
import json
import os
import subprocess
import sys
import tempfile

from jsonschema import Draft202012Validator

spigo = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
schema = json.load(open(os.path.join(here, "schemas", "zipkin-v2-spans.json")))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def flows(seed, *extra):
    out = tempfile.mkdtemp()
    subprocess.run([spigo, "-a", "netflixoss", "-w", "2", "-d", "3", "-c", "--http", "none",
                    "--seed", str(seed), "--out", out, *extra],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    spans = json.load(open(os.path.join(out, "json_metrics", "netflixoss_flow.json")))
    errors = sorted(validator.iter_errors(spans), key=lambda e: list(e.path))
    assert not errors, f"seed {seed}: {len(errors)} schema errors, first: {errors[0].message} " \
                       f"at {list(errors[0].path)}"
    assert spans, f"seed {seed}: no spans"
    # What the schema leaves optional, spigo always writes: a collector can
    # place every span in time and by service.
    for s in spans:
        for field in ("name", "timestamp", "duration", "kind"):
            assert field in s, (seed, field, s)
        assert s.get("localEndpoint", {}).get("serviceName"), (seed, s)
    by_trace = {}
    for s in spans:
        by_trace.setdefault(s["traceId"], {}).setdefault(s["id"], []).append(s)
    calls = ("CLIENT", "SERVER")
    outlived = 0
    for trace, ids in by_trace.items():
        for id_, same in ids.items():
            # Only Zipkin's shared RPC span may carry one id twice: a CLIENT
            # and the SERVER that says it is shared.
            if len(same) > 1:
                kinds = sorted(x["kind"] for x in same)
                server = [x for x in same if x["kind"] == "SERVER"]
                assert kinds == ["CLIENT", "SERVER"] and server[0].get("shared") is True, \
                    f"span id {id_} names {len(same)} spans in trace {trace}: {same}"
        for same in ids.values():
            for s in same:
                if "parentId" not in s:
                    continue
                parents = ids.get(s["parentId"])
                assert parents, f"parent of {s} is not in trace {trace}"
                if s["kind"] in calls and all(p["kind"] in calls for p in parents):
                    end = max(p["timestamp"] + p["duration"] for p in parents)
                    # Microsecond rounding of two clocks' readings.
                    if s["timestamp"] + s["duration"] > end + 2:
                        outlived += 1
    assert outlived == 0, f"seed {seed}: {outlived} call spans end after their parent"
    return spans, set(by_trace)


a_spans, a = flows(11, "--nodes", "2")
b_spans, b = flows(12)
c_spans, c = flows(11)
shared = a & b
assert not shared, f"{len(shared)} trace ids in both runs, e.g. {sorted(shared)[0]}"
high = lambda ids: {t[:16] for t in ids}
assert high(a) == high(c) and len(high(a)) == 1, (high(a), high(c))
assert high(a) != high(b)
print(f"zipkin v2: {len(a_spans)} + {len(b_spans)} + {len(c_spans)} spans valid against the "
      f"schema; seeds 11 and 12 share none of {len(a)} and {len(b)} trace ids; seed 11 twice "
      f"gives trace ids {sorted(high(a))[0]}…")
