"""Paths, loading and the helpers every part of scripts/orb.py shares: the orb's folders,
the README's generated sections, the problems a check collects, what a component's steps use,
and the parameter table `deployer orb params` prints.
"""
import json
import os
import re
import subprocess

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "orb", "src")
SECTIONS = ("commands", "jobs", "executors", "examples")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "orb", "aws-orb-parameters.yml")
README = os.path.join(ROOT, "README.md")
VERSIONS = os.path.join(ROOT, "orb", "versions")
ALIAS_SPEC = os.path.join(VERSIONS, "aliases.yml")
ALIASES = os.path.join(ROOT, "orb", "aliases.yml")
PARAM_USE = re.compile(r"<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>")
# Parameters a command uses in its own YAML rather than passing to deployer.
YAML_LEVEL = {"no_output_timeout", "extra_command_label"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class Problems(list):
    def add(self, where, what):
        self.append(f"{where}: {what}")


def uses(node):
    """Every `<< parameters.X >>` in a YAML subtree."""
    found = set()
    if isinstance(node, dict):
        for k, v in node.items():
            found |= uses(k) | uses(v)
    elif isinstance(node, list):
        for v in node:
            found |= uses(v)
    elif isinstance(node, str):
        found |= set(PARAM_USE.findall(node))
    return found


def steps_of(node):
    """Every step in a steps list, descending into `when`/`unless`."""
    for step in node or []:
        if isinstance(step, dict):
            for key in ("when", "unless"):
                if key in step and isinstance(step[key].get("steps"), list):
                    yield from steps_of(step[key]["steps"])
        yield step


def params_table(deployer):
    """`deployer orb params`: each orb step's parameters and what they become."""
    return json.loads(subprocess.run([deployer, "orb", "params"], capture_output=True, text=True, check=True).stdout)


def aws_components(reference):
    """(orb key, section, name, spec) of every job and command in the aws orbs' fixture."""
    for key, aws_orb in reference.items():
        for section in ("jobs", "commands"):
            for name, spec in (aws_orb.get(section) or {}).items():
                yield key, section, name, spec


def readme_section(readme, begin, end):
    if begin not in readme or end not in readme:
        return None
    return readme.split(begin, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def write_readme_section(begin, end, text):
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    if readme_section(readme, begin, end) is None:
        raise SystemExit(f"README.md lacks the markers {begin!r} and {end!r}")
    before, rest = readme.split(begin, 1)
    after = rest.split(end, 1)[1]
    with open(README, "w", encoding="utf-8") as f:
        f.write(f"{before}{begin}\n{text}{end}{after}")
