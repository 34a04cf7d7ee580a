"""Real-consumer check of the GEXF file spigo wrote.

Usage: check_gexf.py OUT_DIR ARCH
Reads OUT_DIR/gexf/ARCH.gexf with networkx.read_gexf (which needs every
attvalue declared and every time readable in the graph's timeformat) and
OUT_DIR/json/ARCH.json with the json module, and checks that both hold the
same nodes and the same distinct (source, target) edges, and that every node
and edge of the GEXF has a start time.
"""
import json
import sys

import networkx

out, arch = sys.argv[1], sys.argv[2]

g = networkx.read_gexf(f"{out}/gexf/{arch}.gexf")
assert g.graph.get("mode") == "dynamic", g.graph
assert g.is_directed(), "GEXF graph is not directed"
assert not g.is_multigraph(), "GEXF has parallel edges: a pair written twice"
for n, d in g.nodes(data=True):
    assert isinstance(d.get("start"), float), f"node {n} has no start: {d}"
    assert d.get("package"), f"node {n} has no package"
    assert d.get("label") == n.rsplit(".", 1)[-1], f"node {n} is labelled {d.get('label')}"
for s, t, d in g.edges(data=True):
    spells = d.get("spells") or [(d.get("start"), d.get("end"))]
    assert all(isinstance(start, float) for start, _ in spells), f"edge {s} -> {t}: {d}"

doc = json.load(open(f"{out}/json/{arch}.json"))
nodes = {e["node"] for e in doc["graph"] if "node" in e}
edges = {(e["source"], e["target"]) for e in doc["graph"] if "edge" in e}
made = sum(1 for e in doc["graph"] if "edge" in e)
intervals = sum(len(d.get("spells") or [None]) for _, _, d in g.edges(data=True))

assert set(g.nodes) == nodes, (
    f"GEXF and GraphJSON disagree on nodes: {g.number_of_nodes()} against {len(nodes)}"
)
assert set(g.edges) == edges, (
    f"GEXF and GraphJSON disagree on edges: {g.number_of_edges()} against {len(edges)}"
)
assert intervals == made, f"GEXF has {intervals} edge intervals, GraphJSON {made} edge entries"
print(
    f"{arch}: networkx read_gexf {g.number_of_nodes()} nodes, {g.number_of_edges()} edges; "
    "GraphJSON agrees"
)
