"""The orb's parameter table (orb/parameters.json) and the YAML it writes.

Each parameter is written once, in the table: its CircleCI type, enum, default, description and
what deployer makes of it (`becomes`, which `deployer orb run` reads: the binary embeds the same
file). From it come, in orb/src, every command's and job's `parameters:` block, the
`DEPLOYER_ORB_STEP` and `PARAM_*` lines of each command's deployer step, and the parameters each
job passes to the command it runs. `scripts/orb.py generate` rewrites those blocks in place (the
rest of each file, comments included, stays as written); `scripts/orb.py check` fails when the
committed YAML differs from what the table gives.
"""
import json
import os
import re

import yaml

from orb_common import ROOT, SRC

TABLE = os.path.join(ROOT, "orb", "parameters.json")
# The order of a definition's fields in the YAML (and in the table).
SPEC_FIELDS = ("type", "enum", "default", "description")


def load_table(path=TABLE):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def param_name(key):
    """A definition's parameter name: `tag/push_image` is a variant of `tag`."""
    return key.split("/", 1)[0]


def declaration(table, key):
    """The parameter as the YAML declares it."""
    definition = table["parameters"][key]
    return {field: definition[field] for field in SPEC_FIELDS if field in definition}


def parameters_block(table, section, name):
    """The component's `parameters:` block."""
    keys = table[section][name]["parameters"]
    parameters = {param_name(key): declaration(table, key) for key in keys}
    return yaml.safe_dump({"parameters": parameters}, sort_keys=False, width=100, allow_unicode=True)


def deployer_params(table, command):
    """The names of the parameters the command's deployer step passes, in the table's order."""
    entry = table["commands"][command]
    return [param_name(key) for key in entry["parameters"] if "becomes" in table["parameters"][key]]


def environment_lines(table, command, indent):
    entry = table["commands"][command]
    lines = [f"{indent}DEPLOYER_ORB_STEP: {entry['step']}\n"]
    for name in deployer_params(table, command):
        lines.append(f"{indent}PARAM_{name.upper()}: << parameters.{name} >>\n")
    return lines


def passed_lines(table, job):
    """What the job passes to the command it runs: each of its parameters the command has."""
    entry = table["jobs"][job]
    theirs = {param_name(key) for key in table["commands"][entry["calls"]]["parameters"]}
    ours = [param_name(key) for key in entry["parameters"]]
    return [f"    {name}: << parameters.{name} >>\n" for name in ours if name in theirs]


def replace_parameters(text, block, where):
    """The text with its top-level `parameters:` block (up to the next top-level key) replaced."""
    lines = text.splitlines(keepends=True)
    try:
        start = lines.index("parameters:\n")
    except ValueError:
        raise SystemExit(f"{where}: has no top-level parameters: block to generate")
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\n")):
        end += 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


def replace_following(text, pattern, new_lines, where, keep_first):
    """Replaces the lines after the one matching `pattern` that are indented deeper than it
    (or, with keep_first false, that line too and the following lines at its own indent or
    deeper that `continues` accepts)."""
    lines = text.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if re.fullmatch(pattern, line.rstrip("\n"))]
    if len(found) != 1:
        raise SystemExit(f"{where}: expected one line matching {pattern!r}, found {len(found)}")
    start = found[0]
    indent = len(lines[start]) - len(lines[start].lstrip(" "))
    end = start + 1
    while end < len(lines):
        line = lines[end]
        depth = len(line) - len(line.lstrip(" "))
        if keep_first and depth > indent:
            end += 1
        elif not keep_first and (depth > indent or (depth == indent and line.lstrip().startswith("PARAM_"))):
            end += 1
        else:
            break
    first = lines[: start + 1] if keep_first else lines[:start]
    return "".join(first) + "".join(new_lines) + "".join(lines[end:])


def generated_text(table, section, name, text):
    """The component's file as the table writes it, from the committed text."""
    where = f"{section}/{name}.yml"
    text = replace_parameters(text, parameters_block(table, section, name), where)
    if section == "commands" and "step" in table["commands"][name]:
        match = re.search(r"^( +)DEPLOYER_ORB_STEP: ", text, re.M)
        if not match:
            raise SystemExit(f"{where}: has no DEPLOYER_ORB_STEP line to generate the environment at")
        text = replace_following(
            text, r" +DEPLOYER_ORB_STEP: .*", environment_lines(table, name, match.group(1)), where, keep_first=False
        )
    if section == "jobs":
        calls = table["jobs"][name]["calls"]
        text = replace_following(text, rf"- {re.escape(calls)}:", passed_lines(table, name), where, keep_first=True)
    return text


def components(table):
    for section in ("commands", "jobs"):
        for name in table[section]:
            yield section, name, os.path.join(SRC, section, f"{name}.yml")


def generate(write, table=None):
    """(path, committed, generated) of every component file the table writes."""
    table = table or load_table()
    results = []
    for section, name, path in components(table):
        with open(path, encoding="utf-8") as f:
            committed = f.read()
        text = generated_text(table, section, name, committed)
        if write and text != committed:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        results.append((path, committed, text))
    return results


def check_table(problems, table=None, structure_only=False):
    """Every definition is used, every use defined, every component file in orb/src listed,
    and the committed YAML is what the table writes."""
    table = table or load_table()
    used = set()
    for section in ("commands", "jobs"):
        for name, entry in table[section].items():
            names = [param_name(key) for key in entry["parameters"]]
            for key in entry["parameters"]:
                used.add(key)
                if key not in table["parameters"]:
                    problems.add("orb/parameters.json", f"{section}/{name} lists {key}, which has no definition")
            for duplicate in sorted({n for n in names if names.count(n) > 1}):
                problems.add("orb/parameters.json", f"{section}/{name} lists {duplicate} twice")
        folder = os.path.join(SRC, section)
        for file in sorted(os.listdir(folder)):
            if file.endswith(".yml") and file[:-4] not in table[section]:
                problems.add("orb/parameters.json", f"does not list {section}/{file}")
    for key in sorted(set(table["parameters"]) - used):
        problems.add("orb/parameters.json", f"defines {key}, which no command or job lists")
    for name, entry in table["jobs"].items():
        if entry.get("calls") not in table["commands"]:
            problems.add("orb/parameters.json", f"jobs/{name} calls {entry.get('calls')!r}, which is no command")
    if problems or structure_only:
        return
    for path, committed, text in generate(write=False, table=table):
        if committed != text:
            problems.add(
                os.path.relpath(path, ROOT),
                "differs from what orb/parameters.json gives: run scripts/orb.py generate",
            )
