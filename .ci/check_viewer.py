#!/usr/bin/env python3
"""Real-browser check of spigo's graph viewer (coordinator/web/).

Usage: check_viewer.py SPIGO_BINARY ARTIFACT_DIR

1. static: writes a netflixoss graph, serves it with `spigo serve`, opens it
   in headless Chromium and checks that every node and current edge is drawn,
   that hovering a node shows its tooltip, and that the page logged no error.
2. live: runs `spigo -a fsm ... --live --http`, opens the page while the run
   is going and checks that edges arrive during the run, that all pirates are
   drawn, that the end of the run is shown, and that no error was logged.
3. large: a graph of 2,000 pirates and 25,000 edges. A real run
   (`spigo -a fsm -p 2000 -d 1 -j`) gives the pirates and their first ~4,000
   edges; pirates make edges too slowly to reach 25,000 within a CI minute,
   so the script adds chat edges between random pirates (seeded, in the
   file's own format) up to 25,000. Served by `spigo serve`, it must be
   drawn on the canvas; hovering and dragging a node must work there; then
   it pans and zooms for 3 s through real input events and measures the
   gaps between animation frames: median under 50 ms, p95 under 100 ms.
   Then a metrics event (as a live run sends, given through the page's test
   hook) must colour the canvas by utilisation and error rate, and the same
   pan and zoom must keep within the same limits.
4. work: a small architecture with a work model and guarded calls (db
   behind api, api with a timeout, a retry and a circuit breaker), run with
   `--live` while db hangs for 4 s (`-kv outage:`). The page is opened
   during the run and must fill some instance by its service's utilisation
   (not its package colour), list util and err% in the metrics panel, say
   what the colours mean in the legend, colour some api-db edge by its error
   rate (and widen it for the open breakers) during the outage, make it
   plain again once db answers and the breakers close, and log no error.

Screenshots go to ARTIFACT_DIR/viewer.png, viewer-live.png, viewer-large.png
and viewer-work.png (taken during the outage).
Needs Debian's chromium and chromium-driver and pip's selenium. Every process
started here is stopped on the way out, whatever happened.
"""
import json
import math
import os
import random
import statistics
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LIVE_PIRATES = 300
LIVE_SECONDS = 12
LARGE_PIRATES = 2000
LARGE_EDGES = 25000
FRAME_SECONDS = 3.0
FRAME_MEDIAN_MS = 50
FRAME_P95_MS = 100
WORK_SECONDS = 12
# db hangs from 3 s to 7 s into the traffic; api's breakers (50% of at
# least 10 calls in 2 s) open within a second of that and close within
# their 1 s sleep after it, so the run's last seconds are free of errors.
WORK_OUTAGE = "outage:db@3s+4s"
WORK_ARCH = {"arch": "work", "services": [
    {"name": "db", "package": "store", "count": 3, "regions": 1,
     "service_time": {"dist": "exp", "mean": "2ms"}, "concurrency": 2},
    {"name": "api", "package": "karyon", "count": 3, "regions": 1, "dependencies": ["db"],
     "resilience": {"timeout": "50ms", "retries": 1, "backoff": "10ms",
                    "circuit_breaker": {"error_percent": 50, "window": "2s", "volume": 10, "sleep": "1s"}}},
    {"name": "www", "package": "denominator", "dependencies": ["api"]}]}
WORK_NODES = 7


class CheckFailed(Exception):
    pass


def ok(msg):
    print(f"ok   {msg}", flush=True)


class Runner:
    """Starts background processes with their output in files, and stops them all."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, cmd):
        log = open(os.path.join(self.tmp, f"{name}.log"), "w+b")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append((name, proc, log))
        return proc

    def output(self, proc, tail=3000):
        for _, p, log in self.procs:
            if p is proc:
                # A handle of its own: seeking `log` would move the
                # process's write position, which it shares.
                with open(log.name, "rb") as f:
                    text = f.read().decode(errors="replace")
                return text if tail is None else text[-tail:]
        return ""

    def stop_all(self):
        for name, proc, log in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        self.procs = []


def wait_for_addr(runner, proc, marker, what, timeout=60):
    """Started with port 0, spigo logs `MARKER http://HOST:PORT/` once it
    listens: returns HOST:PORT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in runner.output(proc, tail=None).splitlines():
            if marker + "http://" in line:
                return line.split(marker + "http://", 1)[1].split("/", 1)[0]
        if proc.poll() is not None:
            raise CheckFailed(f"{what} exited with status {proc.returncode} before serving:\n{runner.output(proc)}")
        time.sleep(0.1)
    raise CheckFailed(f"{what} logged no address within {timeout}s:\n{runner.output(proc)}")


def make_driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,860"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


class BrowserLog:
    """get_log drains the browser's log, so keep everything it returned."""

    def __init__(self, driver):
        self.driver = driver
        self.entries = []

    def severe(self):
        self.entries += self.driver.get_log("browser")
        return [e for e in self.entries if e.get("level") == "SEVERE"]

    def clear(self):
        self.driver.get_log("browser")
        self.entries = []


def drawn(driver):
    """What the page says it draws: {renderer, nodes, edges} from
    window.spigoViewer, and in SVG the elements really there."""
    return driver.execute_script("""
        const v = window.spigoViewer;
        if (!v) return null;
        return { renderer: v.renderer, nodes: v.nodes, edges: v.edges, visible: v.visible,
                 circles: document.querySelectorAll('svg#graph circle.node').length,
                 lines: document.querySelectorAll('svg#graph line.edge').length };""")


def drawn_nodes(driver):
    d = drawn(driver)
    return d["nodes"] if d else 0


def drawn_edges(driver):
    d = drawn(driver)
    return d["edges"] if d else 0


def check_drawn(driver, where, nodes, edges, renderer=None):
    """Every node and current edge drawn; in SVG one element each."""
    d = drawn(driver)
    if d is None:
        raise CheckFailed(f"{where}: the page has no window.spigoViewer")
    if renderer is not None and d["renderer"] != renderer:
        raise CheckFailed(f"{where}: drawn with {d['renderer']}, expected {renderer}")
    if d["nodes"] != nodes or d["edges"] != edges:
        raise CheckFailed(f"{where}: {d['nodes']} nodes and {d['edges']} edges drawn, expected {nodes} and {edges}")
    if d["renderer"] == "svg" and (d["circles"] != nodes or d["lines"] != edges):
        raise CheckFailed(f"{where}: svg has {d['circles']} circle.node and {d['lines']} line.edge, "
                          f"expected {nodes} and {edges}")
    if d["renderer"] == "canvas" and (d["circles"] or d["lines"]):
        raise CheckFailed(f"{where}: canvas in use but svg still holds {d['circles']} circles, {d['lines']} lines")
    ok(f"{where}: {d['renderer']} draws {nodes} nodes and {edges} edges ({d['visible']} nodes in the window)")
    return d


def status_text(driver):
    return driver.execute_script("const s = document.getElementById('status'); return s ? s.textContent : ''")


def wait_until(driver, timeout, cond, failure):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: cond(d))
    except TimeoutException:
        raise CheckFailed(f"{failure()} (waited {timeout}s)") from None


def assert_no_errors(log, where):
    bad = log.severe()
    if bad:
        lines = "\n".join(f"  {e.get('message')}" for e in bad[:10])
        raise CheckFailed(f"{where}: the browser logged {len(bad)} error(s):\n{lines}")
    ok(f"{where}: no errors in the browser log")


def expected_graph(path):
    """Nodes and current edges (made minus forgotten) of a GraphJSON file."""
    with open(path) as f:
        doc = json.load(f)
    nodes, edges = set(), set()
    for e in doc["graph"]:
        if "node" in e:
            nodes.add(e["node"])
        elif "edge" in e:
            edges.add((e["source"], e["target"]))
        elif "forget" in e:
            edges.discard((e["source"], e["target"]))
    return len(nodes), len(edges)


def measure_frames(driver, seconds):
    """Pans (a drag) for the first half of SECONDS, rests 0.3 s, and zooms
    (wheel steps in, then out) for the rest, through the browser's real input (DevTools
    Input events, so pointer capture works as with a mouse), while the page
    notes every requestAnimationFrame timestamp. Returns the gaps between
    frames in ms: a slow repaint shows as a long gap."""
    # The drag must start on the background (on a node it would move the
    # node): the free point nearest the middle, in the SVG and on no disc.
    spot = driver.execute_script("""
        const svg = document.getElementById('graph'), r = svg.getBoundingClientRect();
        const mx = r.left + r.width / 2, my = r.top + r.height / 2, v = window.spigoViewer;
        for (let d = 0; d < Math.min(r.width, r.height) / 2 - 130; d += 4) {
          for (let a = 0; a < 360; a += 15) {
            const x = mx + d * Math.cos(a * Math.PI / 180), y = my + d * Math.sin(a * Math.PI / 180);
            const el = document.elementFromPoint(x, y);
            if (el && svg.contains(el) && !el.classList.contains('node') && !(v && v.nodeAt(x, y))) return [x, y];
          }
        }
        return null;""")
    if spot is None:
        raise CheckFailed("frames: no free background to start a drag on")
    cx, cy = spot[0] - 120, spot[1]
    driver.execute_script("""
        const ft = window.__frameTimes = { stamps: [], on: true };
        const note = (t) => { ft.stamps.push(t); if (ft.on) requestAnimationFrame(note); };
        requestAnimationFrame(note);""")

    half = seconds / 2
    start = time.monotonic()
    # a circle of 120 px radius, round twice, starting where the button went down
    mouse(driver, "mousePressed", cx + 120, cy, button="left", buttons=1, clickCount=1)
    while (t := time.monotonic() - start) < half:
        a = 2 * math.pi * 2 * t / half
        mouse(driver, "mouseMoved", cx + 120 * math.cos(a), cy + 120 * math.sin(a), button="left", buttons=1)
        time.sleep(0.008)
    mouse(driver, "mouseReleased", cx + 120, cy, button="left", buttons=0, clickCount=1)
    # A rest between the gestures: a viewer that paints in full only when
    # the input pauses pays for that paint inside the measured time.
    time.sleep(0.3)
    while (t := time.monotonic() - start) < seconds:
        # in for the first half of this phase, out for the second
        dy = -60 if t < half * 1.5 else 60
        mouse(driver, "mouseWheel", cx, cy, deltaX=0, deltaY=dy)
        time.sleep(0.02)
    stamps = driver.execute_script("window.__frameTimes.on = false; return window.__frameTimes.stamps;")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    if len(gaps) < 10:
        raise CheckFailed(f"frames: only {len(stamps)} animation frames in {seconds}s of panning and zooming")
    return gaps


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def check_static(spigo, runner, driver, log, tmp, artifacts):
    out = os.path.join(tmp, "static")
    run = subprocess.run([spigo, "-a", "netflixoss", "-d", "1", "-j", "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if run.returncode != 0:
        raise CheckFailed(f"spigo -a netflixoss exited with {run.returncode}:\n{run.stdout.decode(errors='replace')[-3000:]}")
    nodes, edges = expected_graph(os.path.join(out, "json", "netflixoss.json"))
    ok(f"static: spigo wrote netflixoss.json with {nodes} nodes, {edges} current edges")

    server = runner.start("serve", [spigo, "serve", "--port", "0", "--out", out])
    addr = wait_for_addr(runner, server, " on ", "spigo serve")
    ok(f"static: spigo serve listens on {addr}")

    driver.get(f"http://{addr}/?graph=netflixoss")
    wait_until(driver, 30, lambda d: d.execute_script("return document.body && document.body.dataset.ready") == "1",
               lambda: f"static: the page never set data-ready; status: {status_text(driver)!r}")
    check_drawn(driver, "static", nodes, edges, renderer="svg")
    status = status_text(driver)
    if f"{nodes} nodes, {edges} edges" not in status or "svg" not in status:
        raise CheckFailed(f"static: #status says {status!r}, expected '{nodes} nodes, {edges} edges' and 'svg'")
    ok(f"static: #status reads {status!r}")

    # Hover the node that is really on top at some circle's centre (circles
    # may overlap), then the tooltip must show that node's name.
    target = driver.execute_script("""
        for (const c of document.querySelectorAll('svg#graph circle.node')) {
          const r = c.getBoundingClientRect();
          const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          if (top && top.classList.contains('node')) return top;
        }
        return null;""")
    if target is None:
        raise CheckFailed("static: no node can be hovered (is every circle covered or off screen?)")
    name = target.get_attribute("data-name")
    ActionChains(driver).move_to_element(target).perform()
    wait_until(driver, 5, lambda d: d.execute_script(
        "const t = document.getElementById('tooltip');"
        "return t && getComputedStyle(t).display !== 'none' && t.textContent.includes(arguments[0]);", name),
        lambda: f"static: hovering {name} did not show it in #tooltip")
    ok(f"static: hovering a node shows #tooltip with {name}")
    ActionChains(driver).move_to_element(driver.find_element("id", "status")).perform()  # un-hover

    assert_no_errors(log, "static")
    driver.save_screenshot(os.path.join(artifacts, "viewer.png"))
    ok(f"static: screenshot {os.path.join(artifacts, 'viewer.png')}")
    server.terminate()


def check_live(spigo, runner, driver, log, artifacts):
    started = time.monotonic()
    run = runner.start("live", [spigo, "-a", "fsm", "-p", str(LIVE_PIRATES), "-d", str(LIVE_SECONDS),
                                "--live", "--http", "127.0.0.1:0"])
    addr = wait_for_addr(runner, run, "live graph at ", "spigo --live")
    ok(f"live: spigo --live listens on {addr}")

    driver.get(f"http://{addr}/")
    wait_until(driver, 30, lambda d: drawn_nodes(d) > 0,
               lambda: f"live: no node appeared; status: {status_text(driver)!r}")
    first = drawn_edges(driver)
    time.sleep(4)
    second = drawn_edges(driver)
    if second <= first:
        raise CheckFailed(f"live: edges did not grow during the run ({first} then {second} four seconds later)")
    ok(f"live: edges grew during the run ({first} -> {second} in 4 s)")

    wait_until(driver, 30, lambda d: drawn_nodes(d) >= LIVE_PIRATES,
               lambda: f"live: only {drawn_nodes(driver)} of {LIVE_PIRATES} pirates drawn")
    d = drawn(driver)
    if d["nodes"] != LIVE_PIRATES or (d["renderer"] == "svg" and d["circles"] != LIVE_PIRATES):
        raise CheckFailed(f"live: {d['nodes']} nodes ({d['circles']} circle.node) drawn for {LIVE_PIRATES} pirates")
    ok(f"live: {d['nodes']} nodes drawn with {d['renderer']}, one per pirate")
    if "live" not in status_text(driver) and "finished" not in status_text(driver):
        raise CheckFailed(f"live: #status does not say live: {status_text(driver)!r}")

    remaining = max(10, LIVE_SECONDS + 30 - (time.monotonic() - started))
    wait_until(driver, remaining, lambda d: "finished" in status_text(d),
               lambda: f"live: the page never showed the run finished; status: {status_text(driver)!r}")
    ok(f"live: #status reads {status_text(driver)!r}")
    if drawn_nodes(driver) != LIVE_PIRATES:
        raise CheckFailed("live: the graph changed size after the run finished")

    time.sleep(1)  # a moment for anything the end of the stream might log
    assert_no_errors(log, "live")
    driver.save_screenshot(os.path.join(artifacts, "viewer-live.png"))
    ok(f"live: screenshot {os.path.join(artifacts, 'viewer-live.png')}")
    try:
        run.wait(timeout=30)
        ok(f"live: spigo --live exited with status {run.returncode}")
    except subprocess.TimeoutExpired:
        ok("live: spigo --live still running 30 s after the run; stopped it")


def large_graph(spigo, out):
    """Writes OUT/json/fsm-large.json: a real 2,000-pirate run, with chat
    edges between random pirates added up to LARGE_EDGES (see the top)."""
    run = subprocess.run([spigo, "-a", "fsm", "-p", str(LARGE_PIRATES), "-d", "1", "--seed", "1", "-j", "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if run.returncode != 0:
        raise CheckFailed(f"spigo -a fsm -p {LARGE_PIRATES} exited with {run.returncode}:\n"
                          f"{run.stdout.decode(errors='replace')[-3000:]}")
    real = os.path.join(out, "json", "fsm.json")
    with open(real) as f:
        doc = json.load(f)
    entries = doc["graph"]
    names = [e["node"] for e in entries if "node" in e]
    links = [e for e in entries if "edge" in e]
    made = len(links)
    if len(names) != LARGE_PIRATES or not links or made > LARGE_EDGES:
        raise CheckFailed(f"large: the fsm run wrote {len(names)} nodes and {made} edges; "
                          f"expected {LARGE_PIRATES} nodes and some edges, at most {LARGE_EDGES}")
    pairs = {(e["source"], e["target"]) for e in links}
    next_id = 1 + max(int(e["edge"].lstrip("e")) for e in links)
    stamp = links[-1]["timestamp"]
    rnd = random.Random(1)
    added = []
    while len(pairs) < LARGE_EDGES:
        a, b = rnd.sample(names, 2)
        if (a, b) in pairs:
            continue
        pairs.add((a, b))
        added.append({"edge": f"e{next_id}", "source": a, "target": b, "timestamp": stamp})
        next_id += 1
    # after the run's last edge, before anything that ends the run
    at = max(i for i, e in enumerate(entries) if "edge" in e) + 1
    doc["graph"] = entries[:at] + added + entries[at:]
    path = os.path.join(out, "json", "fsm-large.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    os.remove(real)  # the server lists one graph only
    nodes, edges = expected_graph(path)
    ok(f"large: fsm -p {LARGE_PIRATES} made {made} edges; with {len(added)} added, "
       f"fsm-large.json has {nodes} nodes, {edges} edges")
    return nodes, edges


def mouse(driver, kind, x, y, **more):
    """A real input event (DevTools), as a mouse would make it."""
    driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **more})


def lone_node(driver):
    """A node in the window whose centre hits that node: {name, x, y}."""
    return driver.execute_script("""
        const v = window.spigoViewer, w = innerWidth, h = innerHeight;
        for (const name of v.names()) {
          const p = v.screenOf(name);
          if (p && p.x > 150 && p.x < w - 150 && p.y > 150 && p.y < h - 150 && v.nodeAt(p.x, p.y) === name)
            return { name, x: p.x, y: p.y };
        }
        return null;""")


def check_large(spigo, runner, driver, log, tmp, artifacts):
    out = os.path.join(tmp, "large")
    nodes, edges = large_graph(spigo, out)
    server = runner.start("serve-large", [spigo, "serve", "--port", "0", "--out", out])
    addr = wait_for_addr(runner, server, " on ", "spigo serve")
    started = time.monotonic()
    driver.get(f"http://{addr}/?graph=fsm-large")
    wait_until(driver, 60, lambda d: d.execute_script("return document.body && document.body.dataset.ready") == "1",
               lambda: f"large: the page never set data-ready; status: {status_text(driver)!r}")
    ok(f"large: laid out and drawn {time.monotonic() - started:.1f} s after opening the page")
    check_drawn(driver, "large", nodes, edges, renderer="canvas")
    status = status_text(driver)
    if f"{nodes} nodes, {edges} edges" not in status or "canvas" not in status:
        raise CheckFailed(f"large: #status says {status!r}, expected '{nodes} nodes, {edges} edges' and 'canvas'")
    ok(f"large: #status reads {status!r}")

    # Hover: the canvas has no elements, the page hit-tests the pointer.
    target = lone_node(driver)
    if target is None:
        raise CheckFailed("large: no node's centre can be hovered")
    mouse(driver, "mouseMoved", target["x"], target["y"])
    wait_until(driver, 5, lambda d: d.execute_script(
        "const t = document.getElementById('tooltip');"
        "return getComputedStyle(t).display !== 'none' && t.textContent.includes(arguments[0]) &&"
        " window.spigoViewer.hovered === arguments[0];", target["name"]),
        lambda: f"large: hovering {target['name']} did not show it in #tooltip")
    ok(f"large: hovering {target['name']} on the canvas shows it in #tooltip")

    # Drag: the node follows the pointer while the button is down.
    x, y = target["x"], target["y"]
    mouse(driver, "mousePressed", x, y, button="left", buttons=1, clickCount=1)
    for i in range(1, 11):
        mouse(driver, "mouseMoved", x + 6 * i, y + 4 * i, button="left", buttons=1)
        time.sleep(0.02)
    time.sleep(0.2)
    at = driver.execute_script("return window.spigoViewer.screenOf(arguments[0])", target["name"])
    mouse(driver, "mouseReleased", x + 60, y + 40, button="left", buttons=0, clickCount=1)
    if at is None or abs(at["x"] - (x + 60)) > 3 or abs(at["y"] - (y + 40)) > 3:
        raise CheckFailed(f"large: dragged {target['name']} to ({x + 60:.0f}, {y + 40:.0f}), it is at {at}")
    ok(f"large: dragging {target['name']} moves it with the pointer")
    mouse(driver, "mouseMoved", 5, 5)  # off the graph: no tooltip, no highlight
    wait_until(driver, 30, lambda d: d.execute_script("return window.spigoViewer.hovered") is None,
               lambda: "large: the tooltip stayed after the pointer left")
    time.sleep(1.5)  # let the layout settle from the drag

    gaps = measure_frames(driver, FRAME_SECONDS)
    median, p95 = statistics.median(gaps), percentile(gaps, 95)
    ok(f"large: {len(gaps) + 1} frames in {FRAME_SECONDS:.0f} s of panning and zooming: "
       f"median {median:.1f} ms, p95 {p95:.1f} ms, longest {max(gaps):.1f} ms")
    if median >= FRAME_MEDIAN_MS or p95 >= FRAME_P95_MS:
        raise CheckFailed(f"large: frame time median {median:.1f} ms (limit {FRAME_MEDIAN_MS}), "
                          f"p95 {p95:.1f} ms (limit {FRAME_P95_MS})")
    if drawn(driver)["renderer"] != "canvas":
        raise CheckFailed("large: the renderer changed while panning")
    time.sleep(0.5)  # the full paint after the input stops
    assert_no_errors(log, "large")
    driver.save_screenshot(os.path.join(artifacts, "viewer-large.png"))
    ok(f"large: screenshot {os.path.join(artifacts, 'viewer-large.png')}")

    # Load colours on the canvas (check 4 sees them in SVG only): a metrics
    # event as a live run sends them, through the page's test hook, as a
    # served graph has no live stream. Every pirate is a blackbeard, so all
    # nodes get the utilisation fill and all edges the error colour, the
    # most colour the paint can be given; panning and zooming must stay as
    # smooth as without.
    need_load_hooks(driver, "large")
    driver.execute_script("window.spigoViewer.metrics(arguments[0])", {
        "services": {"blackbeard": {"count": 1, "utilisation": 0.9, "queue": 1.0}},
        "edges": [{"service": "blackbeard", "dependency": "blackbeard", "calls": 10, "errors": 4,
                   "error_rate": 0.4, "breakers_open": 1}]})
    coloured = lambda d: d.execute_script("""
        const v = window.spigoViewer, name = v.names()[0], t = v.tintedEdges(1);
        const e = t.length ? v.edgeColour(t[0][0], t[0][1]) : null;
        return v.fillOf(name) === v.utilColour(0.9) && e && e.width > 1 && t.length
          ? { name, fill: v.fillOf(name), edge: e } : null;""")
    shown = wait_until(driver, 5, coloured, lambda: "large: a metrics sample did not colour the canvas")
    ok(f"large: a metrics sample fills {shown['name']} {shown['fill']} and strokes edges "
       f"{shown['edge']['stroke']} {shown['edge']['width']:g} px on the canvas")
    gaps = measure_frames(driver, FRAME_SECONDS)
    median, p95 = statistics.median(gaps), percentile(gaps, 95)
    ok(f"large: with load colours, {len(gaps) + 1} frames in {FRAME_SECONDS:.0f} s: "
       f"median {median:.1f} ms, p95 {p95:.1f} ms, longest {max(gaps):.1f} ms")
    if median >= FRAME_MEDIAN_MS or p95 >= FRAME_P95_MS:
        raise CheckFailed(f"large: with load colours, frame time median {median:.1f} ms (limit {FRAME_MEDIAN_MS}), "
                          f"p95 {p95:.1f} ms (limit {FRAME_P95_MS})")
    assert_no_errors(log, "large, load colours")
    server.terminate()


LOAD_HOOKS = ("utilisation", "errorRates", "serviceOf", "packageColourOf", "utilColour", "fillOf",
              "edgeColour", "tintedEdges", "metrics")


def need_load_hooks(driver, where):
    """The page's window.spigoViewer must have the load colours' parts: a
    binary built before them serves a viewer without."""
    missing = driver.execute_script(
        "const v = window.spigoViewer; return v ? arguments[0].filter((k) => !(k in v)) : arguments[0];",
        list(LOAD_HOOKS))
    if missing:
        raise CheckFailed(f"{where}: window.spigoViewer has no {', '.join(missing)} "
                          "(was the binary built from this coordinator/web/viewer.js?)")


def utilisation_fill(driver):
    """A node filled by its service's utilisation: {name, service, util,
    fill, package} or None. The fill must be the scale's colour for that
    utilisation and not the package colour."""
    return driver.execute_script("""
        const v = window.spigoViewer, u = v.utilisation;
        for (const name of v.names()) {
          const service = v.serviceOf(name);
          if (u[service] === undefined) continue;
          const fill = v.fillOf(name), pkg = v.packageColourOf(name);
          if (fill === v.utilColour(u[service]) && fill !== pkg)
            return { name, service, util: u[service], fill, package: pkg };
        }
        return null;""")


def error_edge(driver):
    """An edge drawn in an error colour for an outage's error rate (half its
    calls or more failing, a breaker open: drawn wide), with what a plain
    edge looks like: {source, target, stroke, width, errorRate, plain} or
    None. A stray timeout at start-up tints an edge too, faintly: not this."""
    return driver.execute_script("""
        const v = window.spigoViewer;
        const tinted = v.tintedEdges(1000).filter(([a, b]) => {
          const e = v.edgeColour(a, b);
          return e && e.errorRate >= 0.5 && e.width > 1;
        });
        if (!tinted.length) return null;
        const [source, target] = tinted[0];
        const look = v.edgeColour(source, target);
        // www's calls to api are not guarded: their edges stay plain
        const names = v.names(), www = names.find((n) => v.serviceOf(n) === 'www');
        const api = names.find((n) => v.serviceOf(n) === 'api' && v.edgeColour(www, n));
        const plain = api ? v.edgeColour(www, api).stroke : null;
        return { source, target, ...look, plain, services: [v.serviceOf(source), v.serviceOf(target)] };""")


def metrics_heads(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#metrics th')].map((th) => th.textContent)")


def check_work(spigo, runner, driver, log, tmp, artifacts):
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    arch = os.path.join(work, "work_arch.json")
    with open(arch, "w") as f:
        json.dump(WORK_ARCH, f)
    started = time.monotonic()
    run = runner.start("work", [spigo, "-a", arch, "-d", str(WORK_SECONDS), "--live", "--http", "127.0.0.1:0",
                                "--seed", "1", "-kv", WORK_OUTAGE, "--out", os.path.join(work, "out")])
    addr = wait_for_addr(runner, run, "live graph at ", "spigo --live")
    ok(f"work: spigo -a work_arch.json -kv {WORK_OUTAGE} --live listens on {addr}")

    driver.get(f"http://{addr}/")
    wait_until(driver, 30, lambda d: drawn_nodes(d) >= WORK_NODES,
               lambda: f"work: {drawn_nodes(driver)} of {WORK_NODES} instances drawn; status: {status_text(driver)!r}")
    need_load_hooks(driver, "work")
    found = wait_until(driver, 20, utilisation_fill,
                       lambda: "work: no instance filled by utilisation; the page knows "
                               f"{driver.execute_script('return window.spigoViewer.utilisation')}")
    ok(f"work: {found['name']} is filled {found['fill']} for {found['service']}'s utilisation "
       f"{100 * found['util']:.1f}% (its package colour is {found['package']})")
    heads = metrics_heads(driver)
    if "util" not in heads:
        raise CheckFailed(f"work: the metrics panel has no util column: {heads}")
    legend = driver.execute_script("return document.getElementById('legend').textContent")
    if "fill: utilisation" not in legend or "edges: error rate" not in legend:
        raise CheckFailed(f"work: the legend does not say what the colours mean: {legend!r}")
    ok(f"work: the metrics panel has {' '.join(heads)}; the legend says 'fill: utilisation · edges: error rate'")

    # The outage begins 3 s into the traffic; the breakers open within ~1 s.
    remaining = max(10, WORK_SECONDS + 20 - (time.monotonic() - started))
    edge = wait_until(driver, remaining, error_edge,
                      lambda: "work: no edge got an error colour during the outage; error rates: "
                              f"{driver.execute_script('return window.spigoViewer.errorRates')}")
    if sorted(edge["services"]) != ["api", "db"]:
        raise CheckFailed(f"work: an edge between {edge['services']} is coloured, expected one between api and db: {edge}")
    if edge["plain"] is None or edge["stroke"] == edge["plain"]:
        raise CheckFailed(f"work: the errored edge is stroked {edge['stroke']}, a plain one {edge['plain']}")
    ok(f"work: during the outage {edge['source']} -> {edge['target']} is stroked {edge['stroke']} "
       f"{edge['width']:g} px wide for error rate {100 * edge['errorRate']:.0f}% (a plain edge: {edge['plain']})")
    heads = metrics_heads(driver)
    if "err%" not in heads:
        raise CheckFailed(f"work: the metrics panel has no err% column during the outage: {heads}")
    driver.save_screenshot(os.path.join(artifacts, "viewer-work.png"))
    ok(f"work: screenshot {os.path.join(artifacts, 'viewer-work.png')}")

    # db answers again at 7 s and the breakers close within their sleep:
    # the last seconds' error rates are 0 and no breaker is open, so the
    # colour must go and the edge be as thin as a plain one again.
    remaining = max(10, WORK_SECONDS + 30 - (time.monotonic() - started))
    recovered = lambda d: d.execute_script("""
        const v = window.spigoViewer, e = v.edgeColour(arguments[0], arguments[1]);
        return !v.tintedEdges(1).length && e && e.width === 1 ? e : null;""", edge["source"], edge["target"])
    after = wait_until(driver, remaining, recovered,
                       lambda: "work: edges kept their error colour or width after the outage: "
                               f"{driver.execute_script('return window.spigoViewer.edgeColour(arguments[0], arguments[1])', edge['source'], edge['target'])}"
                               f"; error rates {driver.execute_script('return window.spigoViewer.errorRates')}")
    ok(f"work: once db answered again the edge is {after['stroke']} {after['width']:g} px, the error colour gone "
       f"({time.monotonic() - started:.1f} s after the start)")
    wait_until(driver, remaining, lambda d: "finished" in status_text(d),
               lambda: f"work: the page never showed the run finished; status: {status_text(driver)!r}")
    ok(f"work: #status reads {status_text(driver)!r}")

    time.sleep(1)  # a moment for anything the end of the stream might log
    assert_no_errors(log, "work")
    try:
        run.wait(timeout=30)
        ok(f"work: spigo --live exited with status {run.returncode}")
    except subprocess.TimeoutExpired:
        ok("work: spigo --live still running 30 s after the run; stopped it")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    spigo, artifacts = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(artifacts, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="spigo-viewer-")
    runner = Runner(tmp)
    driver = None
    try:
        driver = make_driver()
        log = BrowserLog(driver)
        check_static(spigo, runner, driver, log, tmp, artifacts)
        log.clear()
        check_live(spigo, runner, driver, log, artifacts)
        log.clear()
        check_large(spigo, runner, driver, log, tmp, artifacts)
        log.clear()
        check_work(spigo, runner, driver, log, tmp, artifacts)
    except Exception as e:  # CheckFailed, or selenium / subprocess trouble
        msg = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
        print(f"FAIL {msg}", file=sys.stderr, flush=True)
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(artifacts, "viewer-failure.png"))
                print(f"     screenshot of the failure: {os.path.join(artifacts, 'viewer-failure.png')}", file=sys.stderr)
            except Exception:  # the browser may be what failed
                pass
        return 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        runner.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print("viewer checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
