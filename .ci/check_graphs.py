"""Real-consumer check of the graph files spigo wrote.

Usage: check_graphs.py OUT_DIR ARCH NODES MIN_EDGES
Reads OUT_DIR/json/ARCH.json with the json module, and with networkx
OUT_DIR/gml/ARCH.graphml (read_graphml refuses undeclared keys) and
OUT_DIR/gexf/ARCH.gexf (read_gexf needs every attvalue declared and every
time readable in the graph's timeformat). Checks that the GraphJSON and the
GraphML hold NODES nodes, at least MIN_EDGES edges, and the same edges; that
the GEXF holds the same nodes and the same distinct (source, target) edges,
one edge interval per GraphJSON edge entry; and that every node and edge of
the GEXF has a start time.
"""
import json
import sys

import networkx

out, arch, expected, min_edges = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

with open(f"{out}/json/{arch}.json") as f:
    doc = json.load(f)
for field in ("arch", "version", "args", "date", "graph"):
    assert field in doc, f"GraphJSON lacks {field}"
nodes = {e["node"] for e in doc["graph"] if "node" in e}
edges = {(e["source"], e["target"]) for e in doc["graph"] if "edge" in e}
made = sum(1 for e in doc["graph"] if "edge" in e)
for e in doc["graph"]:
    for end in ("source", "target"):
        if end in e:
            assert e[end] in nodes, f"{e} names an unknown node"
for e in doc["graph"]:
    assert "timestamp" in e, e
assert len(nodes) == expected, (len(nodes), expected)
assert len(edges) >= min_edges, f"only {len(edges)} edges"

# GraphML
g = networkx.read_graphml(f"{out}/gml/{arch}.graphml")
assert g.number_of_nodes() == expected, (g.number_of_nodes(), expected)
packages = {d.get("package") for _, d in g.nodes(data=True)}
assert None not in packages, "a node without a package"
labels = [d.get("label") for _, d in g.nodes(data=True)]
assert all(labels), "yEd labels missing"
assert set(g.nodes) == nodes, "GraphML and GraphJSON disagree on nodes"
assert set(g.edges) == edges, "GraphML and GraphJSON disagree on edges"
print(f"{arch}: networkx read {g.number_of_nodes()} nodes, {g.number_of_edges()} edges; GraphJSON agrees")

# GEXF
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
