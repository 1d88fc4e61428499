#!/usr/bin/env python3
"""The deployer orb's pack step and its checks.

    scripts/orb.py pack [--out FILE]         orb/src -> one orb.yml, as `circleci orb pack` does
    scripts/orb.py check --deployer BIN      every check below; exits 1 listing what is wrong
    scripts/orb.py env COMMAND [NAME=VALUE...]
                                             the environment CircleCI gives COMMAND's deployer
                                             step (defaults, then the values given), as JSON

Checks: every YAML file in orb/ and .circleci/ parses; the packed orb, each example's usage and
.circleci/config.yml are valid against CircleCI's config schema (SchemaStore's, as shipped by
check-jsonschema); every parameter is used and every use is declared; every PARAM_* a step
passes is one the binary maps (`deployer orb params`) to flags that `deployer SUBCOMMAND --help`
really lists; jobs pass their commands declared parameters with the same defaults; the jobs
keep the aws-ecr and aws-ecs orbs' parameter names and defaults; the README's migration table
names every parameter; versions agree with Cargo.toml.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "orb", "src")
SECTIONS = ("commands", "jobs", "executors", "examples")
INCLUDE = re.compile(r"^<<\s*include\(([^)]+)\)\s*>>$")
PARAM_USE = re.compile(r"<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>")
# Parameters a command uses in its own YAML rather than passing to deployer.
YAML_LEVEL = {"no_output_timeout"}
# Where our jobs differ from the aws orbs on purpose (see the README's migration table).
DELIBERATE_DEFAULTS = {
    # deployer builds on the machine executor; the aws-ecr orb's default executor is one too.
    ("build_and_push_image", "executor"),
    # the aws orbs require an auth step; deployer also reads credentials from the environment
    # or assumes role_arn with OIDC itself, so auth may be empty.
    ("build_and_push_image", "auth"),
    ("deploy_service_update", "auth"),
    ("deploy_service_update", "executor"),
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve_includes(node):
    if isinstance(node, dict):
        return {k: resolve_includes(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_includes(v) for v in node]
    if isinstance(node, str):
        m = INCLUDE.match(node.strip())
        if m:
            with open(os.path.join(SRC, m.group(1)), encoding="utf-8") as f:
                return f.read()
    return node


def pack():
    orb = load(os.path.join(SRC, "@orb.yml"))
    for section in SECTIONS:
        folder = os.path.join(SRC, section)
        if not os.path.isdir(folder):
            continue
        entries = {}
        for name in sorted(os.listdir(folder)):
            if name.endswith((".yml", ".yaml")):
                entries[os.path.splitext(name)[0]] = load(os.path.join(folder, name))
        if entries:
            orb[section] = entries
    return resolve_includes(orb)


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


def help_flags(deployer, subcommand):
    out = subprocess.run([deployer, subcommand, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out))


def check_yaml_files(problems):
    for base in ("orb", ".circleci"):
        for folder, _, files in os.walk(os.path.join(ROOT, base)):
            for name in files:
                if name.endswith((".yml", ".yaml")):
                    path = os.path.join(folder, name)
                    try:
                        load(path)
                    except yaml.YAMLError as e:
                        problems.add(os.path.relpath(path, ROOT), f"does not parse: {e}")


def check_schema(problems, orb):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        packed = os.path.join(tmp, "orb.yml")
        with open(packed, "w", encoding="utf-8") as f:
            f.write(dump(orb))
        files.append(packed)
        for name, example in orb.get("examples", {}).items():
            path = os.path.join(tmp, f"example-{name}.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(example["usage"], f, sort_keys=False)
            files.append(path)
        config = os.path.join(ROOT, ".circleci", "config.yml")
        if os.path.exists(config):
            files.append(config)
        else:
            problems.add(".circleci/config.yml", "is missing")
        result = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.circle-ci", *files],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            problems.add("schema", (result.stdout + result.stderr).strip().replace(tmp + "/", ""))


def check_params_declared_and_used(problems, orb):
    for section in ("commands", "jobs", "executors"):
        for name, body in orb.get(section, {}).items():
            declared = set((body.get("parameters") or {}).keys())
            rest = {k: v for k, v in body.items() if k != "parameters"}
            used = uses(rest)
            for p in sorted(used - declared):
                problems.add(f"{section}/{name}", f"uses undeclared parameter {p}")
            for p in sorted(declared - used):
                problems.add(f"{section}/{name}", f"declares parameter {p} but never uses it")


def check_steps_reach_flags(problems, orb, deployer):
    table = json.loads(subprocess.run([deployer, "orb", "params"], capture_output=True, text=True, check=True).stdout)
    seen_steps = set()
    for name, command in orb.get("commands", {}).items():
        runs = [s["run"] for s in steps_of(command.get("steps")) if isinstance(s, dict) and isinstance(s.get("run"), dict)]
        for run in runs:
            env = run.get("environment") or {}
            step = env.get("DEPLOYER_ORB_STEP")
            if step is None:
                continue
            where = f"commands/{name}"
            entry = table.get(name)
            if entry is None or entry["subcommand"] != step:
                problems.add(where, f"runs step {step!r}, which `deployer orb params` does not list as {name}")
                continue
            seen_steps.add(name)
            flags = help_flags(deployer, entry["subcommand"]) | help_flags(deployer, "orb")
            mapped = {p["env"]: p for p in entry["params"]}
            passed = {k for k in env if k.startswith("PARAM_")}
            for var in sorted(passed - set(mapped)):
                problems.add(where, f"passes {var}, which deployer does not read for this step")
            for var in sorted(set(mapped) - passed):
                problems.add(where, f"does not pass {var}, which deployer reads for this step")
            for var in sorted(passed & set(mapped)):
                param = mapped[var]["name"]
                if str(env[var]).strip() != f"<< parameters.{param} >>":
                    problems.add(where, f"{var} is {env[var]!r}, not << parameters.{param} >>")
                for flag in mapped[var].get("flags", [mapped[var].get("flag")] if mapped[var].get("flag") else []):
                    if flag not in flags:
                        problems.add(where, f"parameter {param} becomes {flag}, which `deployer {step} --help` does not list")
            declared = set((command.get("parameters") or {}).keys())
            for param in sorted(declared - {mapped[v]["name"] for v in passed & set(mapped)} - YAML_LEVEL):
                problems.add(where, f"parameter {param} reaches no deployer flag")
            for p in entry["params"]:
                if p["kind"] == "lacking":
                    spec = (command.get("parameters") or {}).get(p["name"], {})
                    if str(spec.get("default", "")).lower() != p["default"].lower():
                        problems.add(where, f"{p['name']} defaults to {spec.get('default')!r} but deployer accepts only {p['default']!r}")
    for name in sorted(set(table) - seen_steps):
        problems.add("commands", f"deployer has orb step {name} but no command runs it")


def check_jobs_call_commands(problems, orb):
    commands = orb.get("commands", {})
    for name, job in orb.get("jobs", {}).items():
        job_params = job.get("parameters") or {}
        for step in steps_of(job.get("steps")):
            if not isinstance(step, dict) or len(step) != 1:
                continue
            (command, args), = step.items()
            if command not in commands:
                continue
            spec = commands[command].get("parameters") or {}
            for arg in (args or {}):
                if arg not in spec:
                    problems.add(f"jobs/{name}", f"passes {arg} to {command}, which has no such parameter")
            for param, p in spec.items():
                if "default" not in p and param not in (args or {}):
                    problems.add(f"jobs/{name}", f"does not pass the required parameter {param} to {command}")
                same = job_params.get(param)
                if same is not None and (args or {}).get(param) == f"<< parameters.{param} >>":
                    for key in ("type", "default", "enum"):
                        if same.get(key) != p.get(key):
                            problems.add(f"jobs/{name}", f"parameter {param} has {key} {same.get(key)!r}, {command} has {p.get(key)!r}")


def check_aws_orbs(problems, orb):
    reference = load(os.path.join(ROOT, "tests", "fixtures", "orb", "aws-orb-jobs.yml"))
    for job, params in reference.items():
        ours = (orb.get("jobs", {}).get(job) or {}).get("parameters") or {}
        for param, spec in params.items():
            if param not in ours:
                problems.add(f"jobs/{job}", f"lacks the aws orb's parameter {param}")
                continue
            if (job, param) in DELIBERATE_DEFAULTS:
                continue
            if ours[param].get("type") != spec["type"]:
                problems.add(f"jobs/{job}", f"{param} is a {ours[param].get('type')}, the aws orb's is a {spec['type']}")
            if "default" in spec and ours[param].get("default") != spec["default"]:
                problems.add(f"jobs/{job}", f"{param} defaults to {ours[param].get('default')!r}, the aws orb's to {spec['default']!r}")


def check_readme_table(problems, orb):
    """The README's migration table has a row for every parameter of the aws orbs' jobs and of ours."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    reference = load(os.path.join(ROOT, "tests", "fixtures", "orb", "aws-orb-jobs.yml"))
    for job, params in reference.items():
        ours = set((orb.get("jobs", {}).get(job) or {}).get("parameters") or {})
        for param in sorted(set(params) | (ours - {"deployer_version", "role_arn", "role_session_name"})):
            if f"`{param}`" not in readme:
                problems.add("README.md", f"the migration table does not mention {job}'s parameter {param}")


def check_versions(problems, orb):
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        version = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M).group(1)
    found = {
        "executors/default tag": orb["executors"]["default"]["parameters"]["tag"]["default"],
        "commands/install version": orb["commands"]["install"]["parameters"]["version"]["default"],
    }
    for job, body in orb.get("jobs", {}).items():
        found[f"jobs/{job} deployer_version"] = body["parameters"]["deployer_version"]["default"]
    for name, example in orb.get("examples", {}).items():
        for alias, ref in (example["usage"].get("orbs") or {}).items():
            if "deployer" in ref:
                found[f"examples/{name} orb"] = ref.rsplit("@", 1)[-1]
    for where, value in found.items():
        if str(value) != version:
            problems.add(where, f"is {value!r}; Cargo.toml's version is {version}")


def circleci_value(value):
    """A parameter value as CircleCI writes it into a step's environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def step_environment(orb, command, overrides):
    spec = orb["commands"][command]
    params = spec.get("parameters") or {}
    unknown = set(overrides) - set(params)
    if unknown:
        raise SystemExit(f"{command} has no parameter {', '.join(sorted(unknown))}")
    values = {}
    for name, p in params.items():
        if name in overrides:
            values[name] = overrides[name]
        elif "default" in p:
            values[name] = circleci_value(p["default"])
        else:
            raise SystemExit(f"{command} needs its required parameter {name}")
    for step in steps_of(spec.get("steps")):
        env = (step.get("run") or {}).get("environment") if isinstance(step, dict) and isinstance(step.get("run"), dict) else None
        if env and "DEPLOYER_ORB_STEP" in env:
            return {k: PARAM_USE.sub(lambda m: values[m.group(1)], str(v)) for k, v in env.items()}
    raise SystemExit(f"{command} runs no deployer step")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--out", default="-")
    c = sub.add_parser("check")
    c.add_argument("--deployer", required=True)
    e = sub.add_parser("env")
    e.add_argument("command")
    e.add_argument("values", nargs="*", metavar="NAME=VALUE")
    args = parser.parse_args()

    if args.action == "env":
        overrides = dict(v.split("=", 1) for v in args.values)
        print(json.dumps(step_environment(pack(), args.command, overrides), indent=1))
        return 0

    if args.action == "pack":
        text = dump(pack())
        if args.out == "-":
            sys.stdout.write(text)
        else:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        return 0

    problems = Problems()
    check_yaml_files(problems)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    orb = pack()
    check_schema(problems, orb)
    check_params_declared_and_used(problems, orb)
    check_steps_reach_flags(problems, orb, args.deployer)
    check_jobs_call_commands(problems, orb)
    check_aws_orbs(problems, orb)
    check_readme_table(problems, orb)
    check_versions(problems, orb)
    if problems:
        print(f"orb check: {len(problems)} problem(s)", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    counts = {s: len(orb.get(s, {})) for s in SECTIONS}
    print(f"orb check: ok ({', '.join(f'{n} {s}' for s, n in counts.items())})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
