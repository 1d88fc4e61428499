"""The alias components orb/versions generates: the aws-ecr and aws-ecs orbs' old job, command and
executor names over our components (`scripts/orb.py aliases`, checked against orb/aliases.yml).
"""
import json
import os

from orb_common import ALIASES, ALIAS_SPEC, SRC, VERSIONS, load, steps_of, uses
from orb_pack import dump
from orb_circleci import circleci_value, substitute


def generate_aliases(spec, tables):
    """The alias components the table of every orb version's names generates (orb/aliases.yml):
    each declares every parameter any version declared, under its old name, and runs our
    command with each value under our name. Types and defaults are the newest version's. An old
    kebab-case name whose snake_case spelling is a parameter of our command maps onto it unless
    `renames` says otherwise."""
    out = {}
    our_commands = {os.path.splitext(n)[0]: load(os.path.join(SRC, "commands", n))
                    for n in os.listdir(os.path.join(SRC, "commands")) if n.endswith(".yml")}
    for section in ("jobs", "commands"):
        for name, rule in (spec.get(section) or {}).items():
            out.setdefault(section, {})[rule.get("as", name)] = generate_alias(
                section, name, rule, tables, our_commands[rule["command"]])
    return out


def aws_cli_step(olds):
    """The step that leaves the AWS CLI installed and configured for the job's later steps, as
    the old component did (aws-cli/install + configure, aws-cli/setup): `olds` maps each of our
    parameters (region, profile_name, the credential ones) to the old parameters giving it."""
    return {"run": {
        "name": "The AWS CLI for the job's later steps, as the old orb left it",
        "environment": {f"PARAM_{ours.upper()}": "".join(f"<< parameters.{old} >>" for old in olds.get(ours, []))
                        for ours in ("region", "profile_name", "aws_access_key_id", "aws_secret_access_key")},
        "command": "<<include(scripts/aws_cli.sh)>>",
    }}


def generate_alias(section, name, rule, tables, command):
    kind_name = section[:-1]
    declared, versions = old_parameters(tables[rule["orb"]], name, section)
    if rule.get("versions"):
        versions = [v for v in versions if v["version"] in rule["versions"]]
        declared = {p: [(v, spec) for v, spec in seen if v in rule["versions"]] for p, seen in declared.items()}
        declared = {p: seen for p, seen in declared.items() if seen}
    ours = command.get("parameters") or {}
    credentials = rule.get("credentials") or {}
    default_only = rule.get("default_only") or {}
    no_effect = rule.get("no_effect") or {}
    checked = rule.get("checked") or {}
    describe = rule.get("describe") or {}
    image = rule.get("image_parameter")
    switches = rule.get("step_switches") or {}
    renames = {p: p.replace("-", "_") for p in declared if p.replace("-", "_") in ours}
    renames.update(rule.get("renames") or {})
    for param in set(credentials) | set(default_only) | set(no_effect) | set(checked) | set(switches) | {image}:
        renames.pop(param, None)
    unmapped = (set(declared) - set(renames) - set(credentials) - set(default_only) - set(no_effect)
                - set(checked) - set(switches) - {image})
    if unmapped:
        raise SystemExit(f"orb/versions/aliases.yml: {name} does not say what {', '.join(sorted(unmapped))} becomes")
    targets = {}
    for param, target in list(renames.items()) + [(p, c["ours"]) for p, c in credentials.items()]:
        if param in declared:
            targets.setdefault(target, []).append(param)
    exclusive = {target: olds for target, olds in targets.items() if len(olds) > 1}
    orb_name = rule["orb"]
    params = {}
    for param, seen in declared.items():
        entry, eras = old_declaration(seen, orb_name)
        # Required only where every version had it without a default.
        required = len(seen) == len(versions) and all("default" not in p for _, p in seen)
        exclusive_param = any(param in olds for olds in exclusive.values())
        if param in (rule.get("defaults") or {}):
            entry["default"] = rule["defaults"][param]
        if "default" not in entry and (not required or exclusive_param):
            entry["default"] = ""
        if param in credentials:
            what = (f"The name of the variable holding the key ({eras}; written "
                    f"${credentials[param]['standard']} where it was the value). "
                    f"Another variable than {credentials[param]['standard']}: deployer "
                    f"authenticates with the keys the named variables hold (never printed).")
        elif param in default_only:
            what = (f"Accepted for compatibility ({eras}); another value than "
                    f"{default_only[param]['default']} ({default_only[param]['feature']}) is "
                    f"not supported yet and fails the {kind_name}.")
        elif param in no_effect:
            what = f"{NO_EFFECT} ({eras}): {no_effect[param]}"
        elif param in checked:
            what = f"Checked before any step ({eras}): {checked[param]}"
        elif param == image:
            what = f"The Docker image the job runs on ({eras}); deployer is installed into it."
        elif param in switches:
            what = f"Runs {', '.join(map(str, switches[param]))} first ({eras})."
        else:
            what = f"Our {renames[param]} ({eras})."
            if exclusive_param:
                others = [o for o in exclusive[renames[param]] if o != param]
                what += f" Give it or {', '.join(others)}, not both."
        if param in describe:
            what += " " + describe[param]
        entry["description"] = what
        params[param] = entry
    if section == "jobs":
        params["deployer_version"] = {
            "type": "string",
            "default": "0.1.0",
            "description": "The deployer version the install step installs into the job's image.",
        }
    steps = []
    for target, olds in exclusive.items():
        olds_uses = [f"<< parameters.{old} >>" for old in olds]
        steps.append(refusal_step(name, {"and": olds_uses}, f"give one of {', '.join(olds)} (they are the same parameter, {target})"))
        if "default" not in ours.get(target, {}):
            steps.append(refusal_step(name, {"not": {"or": olds_uses}}, f"{' or '.join(olds)} is required"))
    for param, rule_default in default_only.items():
        if param in declared:
            steps.append(refusal_step(name, {"not": {"equal": [rule_default["default"], f"<< parameters.{param} >>"]}},
                                      f"{param} other than {rule_default['default']}: {rule_default['feature']} is not supported yet"))
    for refusal in rule.get("refusals") or []:
        steps.append(refusal_step(name, refusal["when"], refusal["reason"]))
    for param, before in switches.items():
        if param in declared:
            steps.append({"when": {"condition": f"<< parameters.{param} >>", "steps": list(before)}})
    if section == "jobs":
        steps.append({"install": {"version": "<< parameters.deployer_version >>"}})
    if rule.get("aws_cli") and section == "jobs":
        # The old job left the AWS CLI installed and configured for the steps after it.
        steps.append(aws_cli_step(targets))
    order = list(ours)
    args = {target: "".join(f"<< parameters.{old} >>" for old in targets[target])
            for target in sorted(targets, key=lambda t: order.index(t) if t in order else len(order))}
    # Ours set to what the old component did, where our default differs.
    args.update(rule.get("fixed") or {})
    steps.append({rule["command"]: args})
    if rule.get("aws_cli") and section == "commands":
        # After ours, whose first step installs deployer, which configures the AWS CLI.
        steps.append(aws_cli_step(targets))
    component = {
        "description": (f"The {orb_name} orb's {name} {kind_name} of versions "
                        f"{versions[0]['version']} to {versions[-1]['version']}, with their "
                        f"parameter names: our {rule['command']} command (generated from "
                        f"orb/versions; see orb/versions/aliases.yml)."),
        "parameters": params,
        "steps": steps,
    }
    if image:
        component = {"description": component["description"],
                     "docker": [{"image": f"<< parameters.{image} >>"}], **component}
    return component


def prune(steps):
    """Steps with `when` conditions that substitution made literal resolved: a false one dropped,
    a true one replaced by its steps."""
    out = []
    for step in steps:
        if isinstance(step, dict) and "when" in step and isinstance(step["when"]["condition"], bool):
            if step["when"]["condition"]:
                out.extend(prune(step["when"]["steps"]))
            continue
        out.append(step)
    return out


def old_parameters(table, name, section="jobs"):
    """Every parameter any version of the old orb declared on `name`: {param: [(version, spec)]},
    and the versions that have `name`."""
    versions = [v for v in table["versions"] if name in (v.get(section) or {})]
    declared = {}
    for version in versions:
        for param, p in version[section][name]["parameters"].items():
            declared.setdefault(param, []).append((version["version"], p))
    return declared, versions


def old_declaration(seen, orb_name):
    """One parameter as the alias declares it: the newest version's type and default (a string
    when the versions disagree on the type, as an env_var_name in one era and a value in another,
    and optional unless every version required it), and the versions that had it."""
    newest_version, newest = seen[-1]
    types = {p["type"] for _, p in seen}
    kind = newest["type"] if len(types) == 1 else "string"
    entry = {"type": "string" if kind == "env_var_name" else kind}
    if "default" in newest:
        entry["default"] = newest["default"]
    if newest.get("enum"):
        entry["enum"] = newest["enum"]
    eras = f"{orb_name} {seen[0][0]}" + (f" to {newest_version}" if len(seen) > 1 else "")
    return entry, eras


def refusal_step(job, condition, reason):
    return {"when": {"condition": condition, "steps": [{"run": {
        "name": f"Check the {job} parameters",
        "environment": {"REFUSAL": reason},
        "command": "<<include(scripts/refuse.sh)>>",
    }}]}}


NO_EFFECT = "Accepted without effect"


def generate_wrapped_job(name, rule, tables, section="jobs"):
    """An alias job over one of our jobs: our job's steps, each of our parameters an old one
    maps to replaced by it (`renames`), the others fixed at their default (or at `fixed`); old
    parameters deployer needs nothing for are accepted without effect, those it cannot honour
    refused before any step. With `merge`, the job is ours itself, declaring the old names as
    well (CircleCI rejects undeclared parameters): each old name of one of ours is an optional
    twin, used when given, and giving both is refused."""
    body = load(os.path.join(SRC, "jobs", f"{rule['wraps']}.yml"))
    our_params = body.get("parameters") or {}
    declared, versions = old_parameters(tables[rule["orb"]], name, section)
    merge = rule.get("merge", False)
    if rule.get("versions"):
        versions = [v for v in versions if v["version"] in rule["versions"]]
        declared = {p: [(v, spec) for v, spec in seen if v in rule["versions"]] for p, seen in declared.items()}
        declared = {p: seen for p, seen in declared.items() if seen}
    renames = {p: p.replace("-", "_") for p in declared if p.replace("-", "_") in our_params}
    renames.update(rule.get("renames") or {})
    args = rule.get("args") or {}
    no_effect = rule.get("no_effect") or {}
    default_only = rule.get("default_only") or {}
    login = rule.get("docker_login") or {}
    login_params = set(login.values())
    describe = rule.get("describe") or {}
    overrides = rule.get("defaults") or {}
    checked = rule.get("checked") or {}
    handled = set(renames) | set(args) | set(no_effect) | set(default_only) | login_params | set(checked)
    unmapped = set(declared) - handled
    if unmapped:
        raise SystemExit(f"orb/versions/aliases.yml: {name} does not say what {', '.join(sorted(unmapped))} becomes")
    orb_name = rule["orb"]

    params = {}
    replacements = {}
    twins = {}
    concat_twins = {}
    for param, seen in declared.items():
        entry, eras = old_declaration(seen, orb_name)
        if param in overrides:
            entry["default"] = overrides[param]
        ours_name = renames.get(param)
        if merge and ours_name == param:
            continue  # the same name in both eras: ours, as declared
        if merge and ours_name:
            twins[param] = ours_name
            if our_params[ours_name]["type"] == "string" and our_params[ours_name].get("default") == "":
                # Both default empty and giving both is refused: one of them is the value.
                replacements[ours_name] = ("concat", [param, ours_name])
                del twins[param]
                concat_twins[param] = ours_name
            ours_spec = our_params[ours_name]
            entry = {"type": ours_spec["type"], "default": False if ours_spec["type"] == "boolean" else ""}
            if ours_spec.get("enum"):
                raise SystemExit(f"{name}: {param} twins an enum, which cannot be left empty")
            what = (f"{ours_name} as {eras} spelled it (default {circleci_value(seen[-1][1].get('default'))!r}, "
                    f"as {ours_name}'s): used when given; give one of {param}, {ours_name}.")
        elif param in no_effect:
            what = f"{NO_EFFECT} ({eras}): {no_effect[param]}"
        elif param in checked:
            what = f"Checked before any step ({eras}): {checked[param]}"
        elif param in default_only:
            what = (f"Accepted for compatibility ({eras}); another value than "
                    f"{default_only[param]['default']} ({default_only[param]['feature']}) is not "
                    f"supported yet and fails the job.")
        elif param in login_params:
            what = {
                login["switch"]: f"Log the Docker CLI in to Docker Hub before the build ({eras}).",
                login.get("username"): f"The name of the variable holding the Docker Hub user, with docker-login ({eras}).",
                login.get("password"): f"The name of the variable holding the Docker Hub password, with docker-login ({eras}); never printed.",
            }[param]
        elif param in args:
            command, arg = args[param].split(".")
            what = f"Our {command} command's {arg} ({eras})."
        else:
            what = f"Our {ours_name} ({eras})."
            if ours_name == param:
                what = str(our_params[param].get("description", what)).strip()
            if not merge:
                replacements[ours_name] = ("param", param)
        if param in describe:
            what += " " + describe[param]
        entry["description"] = what
        params[param] = entry

    # Parameters the old job lacked but its users need to say what the old one left ambiguous.
    for param, added in (rule.get("added") or {}).items():
        if param in params:
            raise SystemExit(f"{name}: {param} is added, but the old {section[:-1]} declares it")
        params[param] = {"type": "string", "default": added["default"],
                         "description": " ".join(str(added["description"]).split())}
        replacements[added["ours"]] = ("param", param)

    if merge:
        params = {**our_params, **params}
    else:
        for ours_name, spec in our_params.items():
            if ours_name in replacements or ours_name == "deployer_version":
                continue
            if ours_name in (rule.get("fixed") or {}):
                replacements[ours_name] = ("value", rule["fixed"][ours_name])
            elif "default" in spec:
                replacements[ours_name] = ("value", spec["default"])
            else:
                raise SystemExit(f"{name}: our {ours_name} is required and no old parameter gives it")
        params["deployer_version"] = our_params["deployer_version"]

    steps = []
    for param, other in {**twins, **concat_twins}.items():
        default = our_params[other].get("default")
        steps.append(refusal_step(name, {"and": [f"<< parameters.{param} >>", {"not": {"equal": [
            circleci_value(default) if not isinstance(default, bool) else default,
            f"<< parameters.{other} >>"]}}]}, f"give one of {param}, {other} (the same parameter, spelled as two eras of the aws-ecr orb did)"))
    for param, rule_default in default_only.items():
        steps.append(refusal_step(name, {"not": {"equal": [rule_default["default"], f"<< parameters.{param} >>"]}},
                                  f"{param} other than {rule_default['default']}: {rule_default['feature']} is not supported yet"))
    for refusal in rule.get("refusals") or []:
        steps.append(refusal_step(name, refusal["when"], refusal["reason"]))
    our_steps = prune(substitute(body["steps"], replacements))
    olds = {}
    for param in declared:
        target = renames.get(param) or (args[param].split(".")[1] if param in args else None)
        if target:
            olds.setdefault(target, []).append(param)
    for step in our_steps:
        if isinstance(step, dict) and "install" in step and login:
            steps.append({"when": {"condition": f"<< parameters.{login['switch']} >>", "steps": [{"run": {
                "name": "Log in to Docker Hub",
                "environment": {
                    "USERNAME_VARIABLE": f"<< parameters.{login['username']} >>",
                    "PASSWORD_VARIABLE": f"<< parameters.{login['password']} >>",
                },
                "command": "<<include(scripts/docker_login.sh)>>",
            }}]}})
        for invocation in [step] + [s for s in steps_of([step]) if s is not step]:
            if isinstance(invocation, dict) and len(invocation) == 1:
                (command, invocation_args), = invocation.items()
                if isinstance(invocation_args, dict):
                    for param, target in args.items():
                        if param in declared and target.split(".")[0] == command:
                            invocation_args[target.split(".")[1]] = f"<< parameters.{param} >>"
                    for target, value in (rule.get("command_args") or {}).items():
                        if target.split(".")[0] == command:
                            invocation_args[target.split(".")[1]] = value
        steps.extend(branch_twins(step, list(twins.items())))
        if isinstance(step, dict) and "install" in step and rule.get("aws_cli"):
            # The old job's ecr-login ran aws-cli/setup: later steps of the job call `aws`.
            steps.append(aws_cli_step(olds))
    span = versions[0]["version"] + (f" to {versions[-1]['version']}" if len(versions) > 1 else "")
    job = {
        "description": (f"The {orb_name} orb's {name} {section[:-1]} of versions {span}, with "
                        f"their parameter names: our {rule['wraps']} job's steps (generated from "
                        f"orb/versions; see orb/versions/aliases.yml)."),
        "executor": substitute(body["executor"], replacements),
        "parameters": params,
        "steps": steps,
    }
    if merge:
        job["description"] = (body["description"].rstrip() + " " + rule["merge_note"]).strip()
    if section == "commands":
        del job["executor"]
    return job


def generate_executor(name, rule, tables):
    """An executor every listed old orb's `name` executor resolves to: ours (`wraps`), declaring
    each old parameter too; one of ours of the same name is honoured, the others are accepted
    without effect and say why."""
    body = load(os.path.join(SRC, "executors", f"{rule['wraps']}.yml"))
    params = dict(body.get("parameters") or {})
    notes = rule.get("notes") or {}
    no_effect = rule.get("no_effect") or {}
    for orb_name in rule["orbs"]:
        declared, versions = old_parameters(tables[orb_name], name, "executors")
        for param, seen in declared.items():
            if param in params and param not in no_effect:
                continue
            entry, eras = old_declaration(seen, orb_name)
            if param not in no_effect:
                raise SystemExit(f"orb/versions/aliases.yml: executor {name} does not say what {param} becomes")
            entry["description"] = f"{NO_EFFECT} ({eras}): {no_effect[param]}"
            params.setdefault(param, entry)
    for param, note in notes.items():
        params[param] = {**params[param], "description": str(params[param]["description"]).strip() + " " + note}
    return {**body, "description": str(body["description"]).strip() + " " + rule["note"], "parameters": params}


def branch_twins(step, twins):
    """`step` once per choice of spelling: where it uses one of ours that an old name twins, the
    old name's value when it is given, ours otherwise."""
    used = [(old, ours) for old, ours in twins if ours in uses(step)]
    if not used:
        return [step]
    (old, ours), rest = used[0], used[1:]
    with_old = substitute(step, {ours: ("param", old)})
    return [
        {"when": {"condition": f"<< parameters.{old} >>", "steps": branch_twins(with_old, rest)}},
        {"when": {"condition": {"not": f"<< parameters.{old} >>"}, "steps": branch_twins(step, rest)}},
    ]


def aliases_text():
    tables = {
        "aws-ecr": json.load(open(os.path.join(VERSIONS, "aws-ecr.json"), encoding="utf-8")),
        "aws-ecs": json.load(open(os.path.join(VERSIONS, "aws-ecs.json"), encoding="utf-8")),
    }
    spec = load(ALIAS_SPEC)
    generated = generate_aliases(spec, tables)
    for name, rule in (spec.get("executors") or {}).items():
        generated.setdefault("executors", {})[name] = generate_executor(name, rule, tables)
    for section in ("jobs", "commands"):
        for name, rule in (spec.get(f"wrapped_{section}") or {}).items():
            generated.setdefault(section, {})[name] = generate_wrapped_job(name, rule, tables, section)
    header = ("# Generated by `scripts/orb.py aliases --write` from orb/versions (aws-ecr.json, aws-ecs.json,\n"
              "# aliases.yml): do not edit. The pack step adds these components to the orb.\n")
    return header + dump(generated)


def check_aliases(problems):
    """The committed orb/aliases.yml is what the table and orb/versions/aliases.yml generate."""
    text = aliases_text()
    try:
        with open(ALIASES, encoding="utf-8") as f:
            committed = f.read()
    except FileNotFoundError:
        committed = None
    if committed != text:
        problems.add("orb/aliases.yml", "differs from what orb/versions generates: run scripts/orb.py aliases --write")
