"""Packing orb/src into one orb.yml as `circleci orb pack` does: includes resolved with every
`<<` in an included script escaped, the aliases added, and the YAML written as the CLI writes it.
"""
import os
import re

import yaml

from orb_common import ALIASES, SECTIONS, SRC, load

# `circleci orb pack`'s include directive (circleci-cli internal/pack/pack.go, includeRe): alone
# or inside a larger string, resolved in the jobs, commands and executors sections only.
INCLUDE = re.compile(r"<<[\s]*include\(([-\w/.]+)\)?[\s]*>>")
INCLUDE_SECTIONS = ("jobs", "commands", "executors")


def include_file(path):
    """An included file's text as `circleci orb pack` inlines it: every `<<` escaped as `\\<<`,
    so CircleCI does not read a heredoc or a `<< parameters.x >>` in a script as its own syntax."""
    with open(path, encoding="utf-8") as f:
        return f.read().replace("<<", "\\<<")


def resolve_includes(node, src):
    if isinstance(node, dict):
        return {k: resolve_includes(v, src) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_includes(v, src) for v in node]
    if isinstance(node, str) and INCLUDE.search(node):
        return INCLUDE.sub(lambda m: include_file(os.path.join(src, m.group(1))), node)
    return node


def compile_escapes(text):
    """What CircleCI makes of an escaped `\\<<` when it compiles the config: a literal `<<`."""
    return text.replace("\\<<", "<<")


def pack(src=SRC, aliases=None):
    orb = load(os.path.join(src, "@orb.yml"))
    for section in SECTIONS:
        folder = os.path.join(src, section)
        if not os.path.isdir(folder):
            continue
        entries = {}
        for name in sorted(os.listdir(folder)):
            if name.endswith((".yml", ".yaml")):
                entries[os.path.splitext(name)[0]] = load(os.path.join(folder, name))
        if entries:
            orb[section] = entries
    if aliases is None and src == SRC and os.path.exists(ALIASES):
        aliases = load(ALIASES)
    for section, entries in (aliases or {}).items():
        orb.setdefault(section, {}).update(entries)
    for section in INCLUDE_SECTIONS:
        if section in orb:
            orb[section] = resolve_includes(orb[section], src)
    return orb


class Literal(str):
    pass


def dump(orb):
    def literal(dumper, data):
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    def strings(node):
        if isinstance(node, dict):
            return {k: strings(v) for k, v in node.items()}
        if isinstance(node, list):
            return [strings(v) for v in node]
        return Literal(node) if isinstance(node, str) else node

    yaml.add_representer(Literal, literal)
    return yaml.dump(strings(orb), sort_keys=False, width=100, allow_unicode=True)
