"""Real-consumer check of the graph files spigo wrote.

Usage: check_graphs.py OUT_DIR ARCH NODES MIN_EDGES
Reads OUT_DIR/gml/ARCH.graphml with networkx (which refuses undeclared keys)
and OUT_DIR/json/ARCH.json with the json module, and checks that both hold
NODES nodes, at least MIN_EDGES edges, and the same edges.
"""
import json
import sys

import networkx

out, arch, expected, min_edges = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

g = networkx.read_graphml(f"{out}/gml/{arch}.graphml")
assert g.number_of_nodes() == expected, (g.number_of_nodes(), expected)
packages = {d.get("package") for _, d in g.nodes(data=True)}
assert None not in packages, "a node without a package"
labels = [d.get("label") for _, d in g.nodes(data=True)]
assert all(labels), "yEd labels missing"

doc = json.load(open(f"{out}/json/{arch}.json"))
for field in ("arch", "version", "args", "date", "graph"):
    assert field in doc, f"GraphJSON lacks {field}"
nodes = {e["node"] for e in doc["graph"] if "node" in e}
edges = {(e["source"], e["target"]) for e in doc["graph"] if "edge" in e}
for e in doc["graph"]:
    for end in ("source", "target"):
        if end in e:
            assert e[end] in nodes, f"{e} names an unknown node"
for e in doc["graph"]:
    assert "timestamp" in e, e
assert len(nodes) == expected, (len(nodes), expected)
assert set(g.nodes) == nodes, "GraphML and GraphJSON disagree on nodes"
assert set(g.edges) == edges, "GraphML and GraphJSON disagree on edges"
assert len(edges) >= min_edges, f"only {len(edges)} edges"
print(f"{arch}: networkx read {g.number_of_nodes()} nodes, {g.number_of_edges()} edges; GraphJSON agrees")
