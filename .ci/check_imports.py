#!/usr/bin/env python3
"""Import circles between the files of one crate.

    python3 .ci/check_imports.py coordinator/src [--edges]

The house rule: inside a crate `use` goes downward, so no file uses a file
that uses it back, directly or through a chain. This reads every .rs file
under SRC, finds the modules each one names (`use crate::a::b`, `crate::a`
in code, `super::x`, a child module's name, grouped `use a::{b, c}`), maps
every module path to the file that defines it, and reports each group of
files that reach each other (a strongly connected component of more than
one file). Code in a file's inline `mod tests` counts as that file's.
`mod x;` declarations are not uses: a folder's mod.rs may declare the
files under it. Exit status 1 if any circle is found.
"""

import os
import re
import sys


def strip(text):
    """Source without comments, strings and char literals (so that paths
    in doc comments and messages are not taken for uses)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and not re.match(r"\w", text[i - 1 : i] or " "):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'", text[i:])
            i += len(m.group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["main"], ["lib"]):
        rel = []
    return tuple(rel)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for k, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                head, body = tree[:k], tree[k + 1 : tree.rindex("}")]
                parts, d, start = [], 0, 0
                for m, c2 in enumerate(body):
                    if c2 == "{":
                        d += 1
                    elif c2 == "}":
                        d -= 1
                    elif c2 == "," and d == 0:
                        parts.append(body[start:m])
                        start = m + 1
                parts.append(body[start:])
                return [p for part in parts if part for p in expand(head + part)]
            depth += 1
    return [tree]


def main():
    src = sys.argv[1]
    show_edges = "--edges" in sys.argv
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_of(src, path)] = path
    children = {}
    for mod in files:
        if mod:
            children.setdefault(mod[:-1], set()).add(mod[-1])

    def resolve(mod, parts):
        """The file of the deepest module named by a path from `mod`."""
        if not parts:
            return None
        if parts[0] == "crate":
            base, rest = (), parts[1:]
        elif parts[0] == "self":
            base, rest = mod, parts[1:]
        elif parts[0] == "super":
            base, rest = mod, parts
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        elif parts[0] in children.get(mod, ()):
            base, rest = mod, parts
        else:
            return None
        best = base
        for p in rest:
            if base + (p,) in files:
                base = base + (p,)
                best = base
            else:
                break
        return files.get(best)

    edges = {}
    for mod, path in files.items():
        text = strip(open(path, encoding="utf-8").read())
        uses = set()
        # Inline modules (`mod tests { ... }`) shift what `super` means.
        inline = [(m.end(), m.group(1)) for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text)]

        def scope_at(pos):
            depth, names = 0, []
            for start, name in inline:
                if start > pos:
                    break
                # Does that block still hold `pos`?
                level, k = 1, start
                while k < len(text) and level:
                    if text[k] == "{":
                        level += 1
                    elif text[k] == "}":
                        level -= 1
                    k += 1
                if k > pos:
                    names.append(name)
            return mod + tuple(names)

        for m in re.finditer(r"\buse\s+([^;]+);", text):
            scope = scope_at(m.start())
            for p in expand(m.group(1)):
                f = resolve(scope, [x for x in p.split("::") if x and x != "*"])
                if f:
                    uses.add(f)
        for m in re.finditer(r"(?<![\w:])((?:crate|super|self|\w+)(?:::\w+)+)", text):
            scope = scope_at(m.start())
            f = resolve(scope, m.group(1).split("::"))
            if f:
                uses.add(f)
        uses.discard(path)
        edges[path] = uses

    # Tarjan's strongly connected components.
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    rel = lambda p: os.path.relpath(p, src)
    if show_edges:
        for v in sorted(edges):
            print(f"{rel(v)} -> {', '.join(sorted(rel(w) for w in edges[v])) or '-'}")
    circles = [sorted(c) for c in sccs if len(c) > 1]
    n_edges = sum(len(e) for e in edges.values())
    print(f"{len(files)} files, {n_edges} file-to-file uses, {len(circles)} circles")
    for c in circles:
        print("circle: " + " <-> ".join(rel(p) for p in c))
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
