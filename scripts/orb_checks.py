"""The checks `scripts/orb.py check` runs on the source and the packed orb: YAML, yamllint and
CircleCI's review rules, includes, the config schema, parameters declared, used and reaching
deployer's flags, jobs calling their commands, the aws orbs' names and defaults kept, versions.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

from orb_common import (
    PARAM_USE, README, ROOT, SRC, YAML_LEVEL, aws_components, load, steps_of, uses,
)
from orb_pack import INCLUDE, INCLUDE_SECTIONS, compile_escapes, dump, pack
from orb_circleci import substitute
from orb_aliases import NO_EFFECT

YAMLLINT_CONFIG = os.path.join(ROOT, ".yamllint")
# Where our jobs differ from the aws orbs on purpose (see the README's migration table).
DELIBERATE_DEFAULTS = {
    # deployer builds on the machine executor; the aws-ecr orb's default executor is one too.
    ("build_and_push_image", "executor"),
    # the aws orbs require an auth step; deployer also reads credentials from the environment
    # or assumes role_arn with OIDC itself, so auth may be empty.
    ("build_and_push_image", "auth"),
    ("deploy_service_update", "auth"),
    ("deploy_service_update", "executor"),
    # the aws-ecs orb's default executor is a docker cimg/python one; ours for deploys is the
    # deployer image (our `default` executor is the aws-ecr orb's machine).
    ("run_task", "executor"),
    ("update_task_definition", "executor"),
    ("update_task_definition_from_json", "executor"),
}


def help_flags(deployer, subcommand):
    out = subprocess.run([deployer, *subcommand.split(), "--help"], capture_output=True, text=True, check=True).stdout
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


def check_yamllint(problems, src=SRC):
    """orb-tools-orb's lint job: yamllint on the orb's source with its .yamllint settings."""
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "--format", "parsable", "-c", YAMLLINT_CONFIG, src],
        capture_output=True,
        text=True,
    )
    if "No module named yamllint" in result.stderr:
        problems.add("yamllint", "is not installed: run scripts/stack.sh install")
    elif result.returncode != 0 or result.stdout.strip():
        for line in (result.stdout + result.stderr).strip().splitlines():
            problems.add("yamllint", line.replace(src + "/", ""))


def yaml_paths(node, path=()):
    """Every (path, value) in a YAML tree, the path a tuple of keys and indexes."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from yaml_paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from yaml_paths(v, path + (i,))


def source_components(src, sections):
    """(relative path, parsed YAML) of each component file in the given sections of orb/src."""
    for section in sections:
        folder = os.path.join(src, section)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if name.endswith((".yml", ".yaml")):
                yield f"{section}/{name}", load(os.path.join(folder, name))


def check_review(problems, src=SRC, max_command_length=64):
    """CircleCI's orb review rules: orb-tools-orb v12.4.0 src/scripts/review.bats, RC001-RC012,
    on the unpacked source as that job reads it. RC006 and RC007 (the display URLs answer 200)
    need the internet, which the tests do not have: here the URLs must be well-formed https."""
    orb = load(os.path.join(src, "@orb.yml"))
    display = orb.get("display") or {}
    if not display.get("source_url"):
        problems.add("@orb.yml", "RC001: set display.source_url")
    for key, rc in (("source_url", "RC006"), ("home_url", "RC007")):
        url = display.get(key)
        if url and not re.match(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$", str(url)):
            problems.add("@orb.yml", f"{rc}: display.{key} {url!r} is not an https URL")
    for where, body in source_components(src, ("jobs", "examples", "commands", "executors")):
        if not str((body or {}).get("description") or "").strip():
            problems.add(where, "RC002: has no description")
    examples = list(source_components(src, ("examples",)))
    if not examples:
        problems.add("examples", "RC003: the orb has no usage example")
    for where, body in examples:
        if "example" in os.path.basename(where):
            problems.add(where, "RC004: an example's file name should say what it shows, without the word 'example'")
        if not isinstance((body or {}).get("usage"), dict):
            problems.add(where, "RC003: an example needs a usage")
    if len(str(orb.get("description") or "")) < 64:
        problems.add("@orb.yml", "RC005: the orb's description is under 64 characters")
    for where, body in source_components(src, ("jobs", "commands")):
        for path, value in yaml_paths(body):
            if not path or path[-1] != "run":
                continue
            at = ".".join(str(p) for p in path)
            if not isinstance(value, dict):
                problems.add(where, f"RC008: the run step at {at} is a string: give it a name and a command")
                problems.add(where, f"RC009: the run step at {at} is a string: give it a name and a command")
                continue
            if not str(value.get("name") or "").strip():
                problems.add(where, f"RC008: the run step at {at} has no name")
            command = str(value.get("command") or "")
            if len(command) > max_command_length and "<<include" not in command:
                problems.add(
                    where,
                    f"RC009: the run step at {at} has a command of {len(command)} characters "
                    f"(over {max_command_length}): move it to a script and use <<include(scripts/NAME.sh)>>",
                )
    for where, body in source_components(src, ("jobs", "commands", "executors")):
        if "-" in os.path.basename(where):
            problems.add(where, "RC010: component file names should be snake_case")
        for param in ((body or {}).get("parameters") or {}):
            if "-" in param:
                problems.add(where, f"RC010: parameter {param} should be snake_case")
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        major = re.search(r'^version\s*=\s*"(\d+)\.', f.read(), re.M).group(1)
    for where, body in examples:
        ref = str((((body or {}).get("usage") or {}).get("orbs") or {}).get("deployer", ""))
        if ref and ref.rsplit("@", 1)[-1].split(".")[0] != major:
            problems.add(where, f"RC011: the example uses {ref}, not the current major version {major}")
    # Not in review.bats: an executor's image pinned to a version, never `latest` or no tag.
    for where, body in source_components(src, ("executors",)):
        for path, value in yaml_paths(body or {}):
            if len(path) >= 2 and path[-1] == "image" and path[0] in ("docker", "machine"):
                # A parameter's default stands in for it: what runs when the user sets nothing.
                params = (body or {}).get("parameters") or {}
                value = PARAM_USE.sub(lambda m: str((params.get(m.group(1)) or {}).get("default", "")), str(value))
                image = value.rsplit("/", 1)[-1]
                if ":" not in image or image.endswith(":latest"):
                    problems.add(where, f"executor image {value} is not pinned to a version")
    for where, body in source_components(src, ("jobs", "commands", "executors")):
        params = (body or {}).get("parameters") or {}
        for name, spec in params.items():
            default = str((spec or {}).get("default", ""))
            if "$" not in default or default.endswith("$"):
                continue
            for path, value in yaml_paths(body):
                if isinstance(value, str) and name in value and path and str(path[-1]).endswith("key"):
                    at = ".".join(str(p) for p in path)
                    problems.add(
                        where,
                        f"RC012: parameter {name} defaults to an environment variable ({default}) "
                        f"and is used in the key {at}, where CircleCI does not expand it",
                    )


def check_pack_escapes(problems, orb):
    """Packing escapes `<<` in included scripts as `circleci orb pack` does: each included
    script, compiled back by CircleCI, is the file itself; and a script with heredocs and a
    `<< parameters.x >>`-like line, packed and compiled, runs and prints what it should."""
    for where, body in source_components(SRC, INCLUDE_SECTIONS):
        section, name = where.split("/")[0], os.path.splitext(where.split("/")[1])[0]
        for path, value in yaml_paths(body):
            if not isinstance(value, str) or not INCLUDE.fullmatch(value.strip()):
                continue
            packed = orb[section][name]
            for key in path:
                packed = packed[key]
            with open(os.path.join(SRC, INCLUDE.fullmatch(value.strip()).group(1)), encoding="utf-8") as f:
                original = f.read()
            if compile_escapes(packed) != original or re.search(r"(?<!\\)<<", packed):
                problems.add(f"{section}/{name}", f"packing changes the script included at {'.'.join(map(str, path))}")
    with tempfile.TemporaryDirectory() as src:
        os.makedirs(os.path.join(src, "commands"))
        os.makedirs(os.path.join(src, "scripts"))
        with open(os.path.join(src, "@orb.yml"), "w", encoding="utf-8") as f:
            f.write("version: 2.1\ndescription: heredocs\n")
        script = (
            '#!/usr/bin/env bash\nname=deployer\ncat <<EOF\nhello $name\nEOF\n'
            "cat <<-'END'\n\t<< parameters.not_one >> stays\nEND\n"
        )
        with open(os.path.join(src, "scripts", "heredoc.sh"), "w", encoding="utf-8") as f:
            f.write(script)
        with open(os.path.join(src, "commands", "greet.yml"), "w", encoding="utf-8") as f:
            f.write("description: d\nsteps:\n  - run:\n      name: greet\n      command: <<include(scripts/heredoc.sh)>>\n")
        packed = yaml.safe_load(dump(pack(src)))
        command = packed["commands"]["greet"]["steps"][0]["run"]["command"]
        ran = subprocess.run(["bash", "-c", compile_escapes(command)], capture_output=True, text=True)
        if re.search(r"(?<!\\)<<", command) or ran.stdout != "hello deployer\n<< parameters.not_one >> stays\n":
            problems.add("pack", f"a script with heredocs does not survive packing: packed {command!r}, ran {ran.stdout!r} {ran.stderr!r}")


def check_param_descriptions(problems, orb):
    """Every parameter says what it does: the orb registry shows it (beyond RC002, which asks
    it of components)."""
    for section in ("commands", "jobs", "executors"):
        for name, body in orb.get(section, {}).items():
            for param, spec in (body.get("parameters") or {}).items():
                if not str((spec or {}).get("description") or "").strip():
                    problems.add(f"{section}/{name}", f"parameter {param} has no description")


def check_schema(problems, orb):
    # SchemaStore's schema wants a literal boolean where CircleCI also takes a boolean parameter
    # (an executor's `docker_layer_caching: << parameters.x >>`, as the aws-ecr orb writes it):
    # those are checked with the parameter's default in place.
    checked = dict(orb)
    checked["executors"] = {
        name: substitute(body, {p: ("value", spec["default"]) for p, spec in (body.get("parameters") or {}).items()
                                if spec.get("type") == "boolean" and "default" in spec})
        for name, body in (orb.get("executors") or {}).items()
    }
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        packed = os.path.join(tmp, "orb.yml")
        with open(packed, "w", encoding="utf-8") as f:
            f.write(dump(checked))
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
                # An old orb's parameter deployer needs nothing for is declared so CircleCI
                # accepts it; its description says so.
                if str((body["parameters"][p] or {}).get("description", "")).startswith(NO_EFFECT):
                    continue
                problems.add(f"{section}/{name}", f"declares parameter {p} but never uses it")


def check_steps_reach_flags(problems, orb, deployer, table):
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
            if entry is None or entry.get("step", entry["subcommand"]) != step:
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


def check_commands_install_deployer(problems, orb):
    """Every command that runs deployer installs it first when the executor has none (an
    `install` step, or one of the orb's commands, which all begin with one): the old orbs'
    commands ran the executor's own CLIs, and a config switching by its `orbs:` line keeps its
    executor. Ours begin with `install: {if_missing: true}`."""
    commands = orb.get("commands", {})

    def uses_deployer(step):
        run = step.get("run") if isinstance(step, dict) else None
        return isinstance(run, dict) and (
            "DEPLOYER_ORB_STEP" in (run.get("environment") or {}) or "deployer" in str(run.get("command", "")))

    for name, command in commands.items():
        if name == "install":
            continue
        steps = command.get("steps") or []
        installed = False
        for step in steps:
            if isinstance(step, dict) and len(step) == 1 and next(iter(step)) in commands:
                installed = True
            elif any(uses_deployer(inner) for inner in steps_of([step])) and not installed:
                problems.add(f"commands/{name}", "runs deployer before any step installs it")
                break
        first = steps[0] if steps else None
        ours = os.path.exists(os.path.join(SRC, "commands", f"{name}.yml"))
        if ours and any(uses_deployer(s) for s in steps_of(steps)) and not (
                isinstance(first, dict) and set(first) == {"install"}
                and (first["install"] or {}).get("if_missing") is True):
            problems.add(f"commands/{name}", "runs deployer but does not begin with install: {if_missing: true}")


def check_jobs_call_commands(problems, orb):
    commands = orb.get("commands", {})
    # An alias job of an old orb version keeps that version's defaults on purpose.
    ours = {os.path.splitext(n)[0] for n in os.listdir(os.path.join(SRC, "jobs"))}
    for name, job in orb.get("jobs", {}).items():
        if name not in ours:
            continue
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


def check_aws_orbs(problems, orb, reference):
    """Our jobs named like the aws orbs' jobs take each of their parameters, same type and default
    (a `steps` parameter's default is steps to run, not a value: ours may differ)."""
    for _, section, job, spec in aws_components(reference):
        if section != "jobs" or job not in orb.get("jobs", {}):
            continue
        ours = orb["jobs"][job].get("parameters") or {}
        for param, theirs in spec["parameters"].items():
            if param not in ours:
                problems.add(f"jobs/{job}", f"lacks the aws orb's parameter {param}")
                continue
            if (job, param) in DELIBERATE_DEFAULTS:
                continue
            if ours[param].get("type") != theirs["type"]:
                problems.add(f"jobs/{job}", f"{param} is a {ours[param].get('type')}, the aws orb's is a {theirs['type']}")
            if "default" in theirs and theirs["type"] != "steps" and ours[param].get("default") != theirs["default"]:
                problems.add(f"jobs/{job}", f"{param} defaults to {ours[param].get('default')!r}, the aws orb's to {theirs['default']!r}")


def check_readme_table(problems, orb, reference):
    """The README's migration table has a row for every parameter of the aws orbs' jobs we have, and of ours."""
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    for _, section, job, spec in aws_components(reference):
        if section != "jobs" or job not in orb.get("jobs", {}):
            continue
        ours = set(orb["jobs"][job].get("parameters") or {})
        for param in sorted(set(spec["parameters"]) | (ours - {"deployer_version", "role_arn", "role_session_name"})):
            if f"`{param}`" not in readme:
                problems.add("README.md", f"the migration table does not mention {job}'s parameter {param}")


def check_versions(problems, orb):
    with open(os.path.join(ROOT, "Cargo.toml"), encoding="utf-8") as f:
        version = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M).group(1)
    found = {
        "executors/image tag": orb["executors"]["image"]["parameters"]["tag"]["default"],
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
