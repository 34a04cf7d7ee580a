#!/usr/bin/env python3
"""Real-consumer check of `spigo --svg` (coordinator/src/output/svg/).

Usage: check_svg.py SPIGO_BINARY ARTIFACT_DIR

Runs netflixoss on three regions (every instance drawn), a run of more than
10,000 instances (services collapsed to counted boxes) and the pirates, then
for each: both files parse as XML (xml.etree), name what they must (services,
chaos monkey), and render in headless Chromium to a picture that is not
blank and shows the package colours of the live viewer's palette.

Screenshots go to ARTIFACT_DIR/svg-<run>.png and svg-<run>-timeline.png.
Needs Debian's chromium and chromium-driver, pip's selenium and pillow.
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SVG = "{http://www.w3.org/2000/svg}"

# web/viewer.js PALETTE: the picture must show these where the run has them.
DENOMINATOR = (0x1F, 0x77, 0xB4)
KARYON = (0x2C, 0xA0, 0x2C)
PIRATE = (0xE6, 0x55, 0x0D)

RUNS = [
    # name, flags, texts the graph must hold, colours its picture must show
    ("netflixoss", ["-a", "netflixoss", "-w", "3", "-d", "6"],
     ["homepage", "wwwproxy", "us-west-2", "zoneA", "tier 0"], [DENOMINATOR, KARYON]),
    ("netflixoss-10k", ["-a", "netflixoss", "-w", "3", "-p", "6000", "-d", "2"],
     ["homepage ×", "one box per service per zone"], [DENOMINATOR, KARYON]),
    ("fsm", ["-a", "fsm", "-p", "60", "-d", "3"], ["60 pirates"], [PIRATE]),
]


class CheckFailed(Exception):
    pass


def ok(msg):
    print(f"ok   {msg}", flush=True)


def texts(path):
    """Every text of an SVG file, parsed as XML (a parse error fails the check)."""
    root = ET.parse(path).getroot()
    if root.tag != SVG + "svg":
        raise CheckFailed(f"{path}: root element is {root.tag}, not svg")
    return root, " ".join("".join(t.itertext()) for t in root.iter(SVG + "text"))


def size_of(root):
    return int(float(root.get("width"))), int(float(root.get("height")))


def screenshot(driver, svg_path, png_path, size):
    w, h = min(size[0], 4000), min(size[1], 3000)
    driver.set_window_size(w + 40, h + 160)
    driver.get("file://" + os.path.abspath(svg_path))
    driver.save_screenshot(png_path)


def near(pixel, colour, slack=24):
    return all(abs(p - c) <= slack for p, c in zip(pixel[:3], colour))


def check_picture(png_path, colours, min_inked):
    img = Image.open(png_path).convert("RGB")
    pixels = list(img.get_flattened_data() if hasattr(img, "get_flattened_data") else img.getdata())
    inked = sum(1 for p in pixels if min(p) < 235)
    share = inked / len(pixels)
    if share < min_inked:
        raise CheckFailed(f"{png_path}: only {share:.1%} of the picture is not white")
    for c in colours:
        found = sum(1 for p in pixels if near(p, c))
        if found < 50:
            raise CheckFailed(f"{png_path}: colour #{bytes(c).hex()} drawn on {found} pixels")
    return share


def run(spigo, name, flags, out):
    cmd = [spigo, *flags, "--svg", "--seed", "1", "--http", "none", "--out", out]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    arch = flags[1]
    graph = os.path.join(out, "svg", f"{arch}.svg")
    timeline = os.path.join(out, "svg", f"{arch}_timeline.svg")
    for f in (graph, timeline):
        if not os.path.exists(f):
            raise CheckFailed(f"{name}: {f} not written")
        if f"wrote {f}" not in done.stderr:
            raise CheckFailed(f"{name}: the log does not name {f}")
    return graph, timeline


def main():
    spigo, artifacts = sys.argv[1], sys.argv[2]
    os.makedirs(artifacts, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--no-first-run"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        for name, flags, must, colours in RUNS:
            with tempfile.TemporaryDirectory() as out:
                graph, timeline = run(spigo, name, flags, out)
                root, words = texts(graph)
                for m in must:
                    if m not in words:
                        raise CheckFailed(f"{name}: {graph} does not say '{m}'")
                ok(f"{name}: {graph} parses and names {', '.join(must)}")
                troot, twords = texts(timeline)
                wanted = ["messages delivered per second"] if flags[1] == "fsm" else \
                    ["requests per second", "response time", "errors per second", "chaos monkey"]
                for m in wanted:
                    if m not in twords:
                        raise CheckFailed(f"{name}: {timeline} does not say '{m}'")
                if not re.search(r"<polyline", open(timeline).read()):
                    raise CheckFailed(f"{name}: {timeline} has no line drawn")
                ok(f"{name}: {timeline} parses and shows {', '.join(wanted)}")
                png = os.path.join(artifacts, f"svg-{name}.png")
                screenshot(driver, graph, png, size_of(root))
                share = check_picture(png, colours, 0.03)
                ok(f"{name}: {png} rendered, {share:.0%} inked, package colours present")
                png = os.path.join(artifacts, f"svg-{name}-timeline.png")
                screenshot(driver, timeline, png, size_of(troot))
                share = check_picture(png, [(0, 0, 0)], 0.02)
                ok(f"{name}: {png} rendered, {share:.0%} inked")
    except CheckFailed as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        driver.quit()
    print("svg check passed")


if __name__ == "__main__":
    main()
