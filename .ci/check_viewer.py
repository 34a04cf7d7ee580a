#!/usr/bin/env python3
"""Real-browser check of spigo's graph viewer (coordinator/web/).

Usage: check_viewer.py SPIGO_BINARY ARTIFACT_DIR

1. static: writes a netflixoss graph, serves it with `spigo serve`, opens it
   in headless Chromium and checks that every node and current edge is drawn,
   that hovering a node shows its tooltip, and that the page logged no error.
2. live: runs `spigo -a fsm ... --live --http`, opens the page while the run
   is going and checks that edges arrive during the run, that all pirates are
   drawn, that the end of the run is shown, and that no error was logged.

Screenshots go to ARTIFACT_DIR/viewer.png and ARTIFACT_DIR/viewer-live.png.
Needs Debian's chromium and chromium-driver and pip's selenium. Every process
started here is stopped on the way out, whatever happened.
"""
import json
import math
import os
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


def count(driver, selector):
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


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
    # node): the free point nearest the middle, on the SVG and on no disc.
    spot = driver.execute_script("""
        const svg = document.getElementById('graph'), r = svg.getBoundingClientRect();
        const mx = r.left + r.width / 2, my = r.top + r.height / 2, v = window.spigoViewer;
        for (let d = 0; d < Math.min(r.width, r.height) / 2 - 130; d += 4) {
          for (let a = 0; a < 360; a += 15) {
            const x = mx + d * Math.cos(a * Math.PI / 180), y = my + d * Math.sin(a * Math.PI / 180);
            if (document.elementFromPoint(x, y) === svg && !(v && v.nodeAt(x, y))) return [x, y];
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

    def mouse(kind, x, y, **more):
        driver.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, **more})

    half = seconds / 2
    start = time.monotonic()
    # a circle of 120 px radius, round twice, starting where the button went down
    mouse("mousePressed", cx + 120, cy, button="left", buttons=1, clickCount=1)
    while (t := time.monotonic() - start) < half:
        a = 2 * math.pi * 2 * t / half
        mouse("mouseMoved", cx + 120 * math.cos(a), cy + 120 * math.sin(a), button="left", buttons=1)
        time.sleep(0.008)
    mouse("mouseReleased", cx + 120, cy, button="left", buttons=0, clickCount=1)
    # A rest between the gestures: a viewer that paints in full only when
    # the input pauses pays for that paint inside the measured time.
    time.sleep(0.3)
    steps = 0
    while (t := time.monotonic() - start) < seconds:
        # in for the first half of this phase, out for the second
        dy = -60 if t < half * 1.5 else 60
        mouse("mouseWheel", cx, cy, deltaX=0, deltaY=dy)
        steps += 1
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
    drawn = count(driver, "svg#graph circle.node")
    if drawn != nodes:
        raise CheckFailed(f"static: {drawn} circle.node drawn, the file has {nodes} nodes")
    ok(f"static: {drawn} circle.node drawn, one per node")
    lines = count(driver, "svg#graph line.edge")
    if lines != edges:
        raise CheckFailed(f"static: {lines} line.edge drawn, the file has {edges} current edges")
    ok(f"static: {lines} line.edge drawn, one per current edge")
    status = status_text(driver)
    if f"{nodes} nodes, {edges} edges" not in status:
        raise CheckFailed(f"static: #status says {status!r}, expected '{nodes} nodes, {edges} edges'")
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
    wait_until(driver, 30, lambda d: count(d, "svg#graph circle.node") > 0,
               lambda: f"live: no circle.node appeared; status: {status_text(driver)!r}")
    first = count(driver, "svg#graph line.edge")
    time.sleep(4)
    second = count(driver, "svg#graph line.edge")
    if second <= first:
        raise CheckFailed(f"live: edges did not grow during the run ({first} then {second} four seconds later)")
    ok(f"live: edges grew during the run ({first} -> {second} in 4 s)")

    wait_until(driver, 30, lambda d: count(d, "svg#graph circle.node") >= LIVE_PIRATES,
               lambda: f"live: only {count(driver, 'svg#graph circle.node')} of {LIVE_PIRATES} circle.node drawn")
    drawn = count(driver, "svg#graph circle.node")
    if drawn != LIVE_PIRATES:
        raise CheckFailed(f"live: {drawn} circle.node drawn for {LIVE_PIRATES} pirates")
    ok(f"live: {drawn} circle.node drawn, one per pirate")
    if "live" not in status_text(driver) and "finished" not in status_text(driver):
        raise CheckFailed(f"live: #status does not say live: {status_text(driver)!r}")

    remaining = max(10, LIVE_SECONDS + 30 - (time.monotonic() - started))
    wait_until(driver, remaining, lambda d: "finished" in status_text(d),
               lambda: f"live: the page never showed the run finished; status: {status_text(driver)!r}")
    ok(f"live: #status reads {status_text(driver)!r}")
    if count(driver, "svg#graph circle.node") != LIVE_PIRATES:
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
