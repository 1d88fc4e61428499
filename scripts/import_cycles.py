#!/usr/bin/env python3
"""Counts the import circles between the files of a Rust crate.

Usage: scripts/import_cycles.py [--crate-name NAME] SRC_DIR...

An edge A -> B means file A names an item of file B: through `use`, a path in code
(`crate::domain::rollout::x`, `super::x`, `child::x`), or a re-export that leads there. A circle is
a strongly connected set of two or more files. It prints each circle and exits 1 when there is one,
0 when the files form no circle. Module declarations (`mod x;`) are not edges: a parent that only
declares its children does not depend on them.
"""
import os
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_files(root):
    """Maps module path (tuple) to file, for a crate rooted at lib.rs or main.rs."""
    modules = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)[:-3].split(os.sep)
            if rel in (["lib"], ["main"]):
                key = ()
            elif rel[-1] == "mod":
                key = tuple(rel[:-1])
            else:
                key = tuple(rel)
            # main.rs beside lib.rs is a second crate root: keep it apart.
            if rel == ["main"] and os.path.exists(os.path.join(root, "lib.rs")):
                key = ("<main>",)
            modules[key] = path
    return modules


def strip_comments_and_strings(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#+"(.*?)"#+', '""', text, flags=re.S)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text, flags=re.S)
    return text


def strip_tests(text):
    """Drops `#[cfg(test)] mod tests { ... }` blocks: test code is not the module's dependency."""
    out, i = [], 0
    for match in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{", text):
        if match.start() < i:
            continue
        out.append(text[i : match.start()])
        depth, j = 1, match.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [[a,b],[a,c,d],[a,c,e]] (aliases and globs dropped)."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    tree = re.sub(r"\s+", "", tree)

    def parse(s, i):
        paths, prefix = [], []
        current = ""
        while i < len(s):
            c = s[i]
            if c == "{":
                inner, i = parse(s, i + 1)
                base = prefix + ([current] if current else [])
                paths.extend(base + p for p in inner)
                prefix, current = [], ""
                continue
            if c == "}":
                if current or prefix:
                    paths.append(prefix + ([current] if current else []))
                return paths, i + 1
            if c == ",":
                if current or prefix:
                    paths.append(prefix + ([current] if current else []))
                prefix, current = [], ""
            elif s.startswith("::", i):
                prefix.append(current)
                current = ""
                i += 2
                continue
            else:
                current += c
            i += 1
        if current or prefix:
            paths.append(prefix + ([current] if current else []))
        return paths, i

    paths, _ = parse(tree, 0)
    cleaned = []
    for p in paths:
        p = [x for x in p if x and x != "*"]
        if p:
            cleaned.append(p)
    return cleaned


class Crate:
    def __init__(self, root, crate_name):
        self.root = root
        self.crate_name = crate_name
        self.modules = module_files(root)
        self.texts = {}
        for key, path in self.modules.items():
            with open(path, encoding="utf-8") as f:
                self.texts[key] = strip_tests(strip_comments_and_strings(f.read()))
        self.reexports = {key: self._reexports(key) for key in self.modules}

    def _absolute(self, module, path):
        """Resolves a path written in `module` to an absolute path (list), or None if external."""
        if not path:
            return None
        head = path[0]
        base = list(module) if module != ("<main>",) else []
        if head == "crate" or (head == self.crate_name and module == ("<main>",)):
            return path[1:]
        if head == "self":
            return base + path[1:]
        if head == "super":
            ups = 0
            while ups < len(path) and path[ups] == "super":
                ups += 1
            return base[: len(base) - ups] + path[ups:]
        if tuple(base + [head]) in self.modules:
            return base + path
        return None

    def _reexports(self, key):
        """Names a module re-exports with `pub use`: name -> absolute path."""
        names = {}
        for match in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", self.texts[key]):
            for path in expand_use(match.group(1)):
                absolute = self._absolute(key, path)
                if absolute:
                    names[path[-1]] = absolute
        return names

    def resolve(self, path, depth=0):
        """The file (module key) an absolute path's item lives in."""
        for n in range(len(path), -1, -1):
            key = tuple(path[:n])
            if key in self.modules:
                rest = path[n:]
                if rest and depth < 8 and rest[0] in self.reexports.get(key, {}):
                    target = self.reexports[key][rest[0]]
                    return self.resolve(target + rest[1:], depth + 1)
                return key
        return None

    def edges(self):
        graph = {key: set() for key in self.modules}
        for key, text in self.texts.items():
            written = []
            for match in re.finditer(r"\buse\s+([^;]+);", text):
                written.extend(expand_use(match.group(1)))
            code = re.sub(r"\buse\s+[^;]+;", "", text)
            for match in re.finditer(r"\b(" + IDENT + r"(?:::" + IDENT + r")+)", code):
                written.append(match.group(1).split("::"))
            for path in written:
                absolute = self._absolute(key, path)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target is not None and target != key:
                    graph[key].add(target)
        return graph


def strongly_connected(graph):
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            result.append(component)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return [c for c in result if len(c) > 1]


def package_name(root):
    """The `name` of the [package] in the Cargo.toml beside SRC_DIR."""
    manifest = os.path.join(os.path.dirname(os.path.abspath(root)), "Cargo.toml")
    with open(manifest, encoding="utf-8") as f:
        match = re.search(r'^\[package\][^\[]*?^name\s*=\s*"([^"]+)"', f.read(), flags=re.S | re.M)
    return match.group(1) if match else ""


def main(argv):
    crate_name = None
    roots = []
    args = iter(argv)
    for arg in args:
        if arg == "--crate-name":
            crate_name = next(args)
        else:
            roots.append(arg)
    if not roots:
        print(__doc__, file=sys.stderr)
        return 2
    total = 0
    for root in roots:
        name = crate_name or package_name(root)
        crate = Crate(root, name.replace("-", "_"))
        graph = crate.edges()
        circles = strongly_connected(graph)
        total += len(circles)
        for circle in circles:
            members = set(circle)
            print(f"{root}: circle of {len(circle)} files:")
            for key in sorted(circle, key=lambda k: crate.modules[k]):
                inside = sorted(crate.modules[t] for t in graph[key] if t in members)
                print(f"  {crate.modules[key]} -> {', '.join(inside)}")
        print(f"{root}: {len(crate.modules)} files, {len(circles)} import circles", file=sys.stderr)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
