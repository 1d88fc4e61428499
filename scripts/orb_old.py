"""The old orb versions against ours: each old invocation of orb/versions/behaviour.yml compared
with what our orb runs for it (`behaviour`), and every name of every aws-ecr and aws-ecs version
accepted by the packed orb (`accepts`).
"""
import json
import os
import re
import shlex
import subprocess
import tempfile

from orb_common import README, VERSIONS, load, readme_section, steps_of
from orb_pack import pack
from orb_circleci import circleci_value, job_step_environment, step_environment

BEHAVIOUR = os.path.join(VERSIONS, "behaviour.yml")
CALLER_ACCOUNT = "123456789012"


def empty_meaning():
    return {"context": None, "dockerfile": None, "pushed": set(), "local": set(), "build_args": [],
            "platform": None, "create_repo": False, "scan_on_push": None, "region": None,
            "cluster": None, "service": None, "image_updates": None, "force_new_deployment": False,
            "wait_seconds": None, "login": None, "family": None, "task_definition": None,
            "count": None, "launch_type": None, "subnets": None, "security_groups": None,
            "assign_public_ip": None, "source_tag": None, "target_tags": None}


def norm(path):
    return os.path.normpath(path) if path is not None else None


def old_meaning(lines, environment):
    """What the old orb's command lines did, in the terms both sides are compared in. An `aws`
    line without --region used the AWS CLI's: `aws configure set region`, else
    AWS_DEFAULT_REGION (the AWS CLI v1 does not read AWS_REGION)."""
    meaning = empty_meaning()
    configured = None
    for line in lines:
        words = shlex.split(line)
        if "|" in words and words[words.index("|") + 1:][:2] == ["docker", "login"]:
            # aws ecr get-login-password --region R | docker login --username AWS --password-stdin HOST
            meaning["region"] = words[words.index("--region") + 1]
            meaning["login"] = words[-1]
            continue
        if words[:2] == ["docker", "push"]:
            meaning["pushed"].add(words[2])
            meaning["local"].discard(words[2])
            continue
        if words[:2] == ["docker", "build"] or words[:3] == ["docker", "buildx", "build"]:
            rest = words[3:] if words[1] == "buildx" else words[2:]
            tags, push, positional, i = [], False, [], 0
            while i < len(rest):
                word = rest[i]
                if word in ("-f", "--file"):
                    meaning["dockerfile"] = rest[i + 1]; i += 2; continue
                if word in ("-t", "--tag"):
                    tags.append(rest[i + 1]); i += 2; continue
                if word == "--build-arg":
                    meaning["build_args"].append(rest[i + 1]); i += 2; continue
                if word == "--platform":
                    meaning["platform"] = rest[i + 1]; i += 2; continue
                if word in ("--progress", "--cache-from", "--target", "--label"):
                    i += 2; continue
                if word == "--push":
                    push = True; i += 1; continue
                if word.startswith("-"):
                    i += 1; continue
                positional.append(word); i += 1
            meaning["context"] = norm(positional[-1])
            meaning["dockerfile"] = norm(meaning["dockerfile"] or os.path.join(positional[-1], "Dockerfile"))
            (meaning["pushed"] if push else meaning["local"]).update(tags)
            continue
        if words[0] == "aws":
            options = {}
            i = 1
            command = []
            while i < len(words):
                if words[i].startswith("--"):
                    value = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else True
                    options[words[i]] = value
                    i += 2 if value is not True else 1
                else:
                    command.append(words[i]); i += 1
            if command[:3] == ["configure", "set", "region"]:
                configured = command[3]
                continue
            meaning["region"] = options.get("--region") or configured or environment.get("AWS_DEFAULT_REGION")
            if command[:2] == ["ecs", "run-task"]:
                meaning["cluster"] = options["--cluster"]
                meaning["task_definition"] = options["--task-definition"]
                meaning["count"] = int(options.get("--count", 1))
                meaning["launch_type"] = options.get("--launch-type")
                network = options.get("--network-configuration")
                if network:
                    inner = dict(part.split("=", 1) for part in re.findall(r"(\w+=\[[^\]]*\]|\w+=[A-Z]+)", network))
                    meaning["subnets"] = inner["subnets"].strip("[]") or None
                    meaning["security_groups"] = inner["securityGroups"].strip("[]") or None
                    meaning["assign_public_ip"] = inner.get("assignPublicIp")
            elif command[:2] == ["ecr", "batch-get-image"]:
                meaning["source_tag"] = options["--image-ids"].split("=", 1)[1]
            elif command[:2] == ["ecr", "put-image"]:
                meaning["target_tags"] = ",".join(filter(None, [meaning["target_tags"], options["--image-tag"]]))
            if command[:2] == ["ecr", "create-repository"]:
                meaning["create_repo"] = True
                scanning = options.get("--image-scanning-configuration", "scanOnPush=false")
                meaning["scan_on_push"] = scanning.split("=", 1)[1] == "true"
            elif command[:2] == ["ecs", "update-service"]:
                meaning["cluster"] = options["--cluster"]
                meaning["service"] = options["--service"]
                meaning["force_new_deployment"] = "--force-new-deployment" in options
            continue
        if words[0] == "update_ecs_task_definition":
            meaning["family"] = words[words.index("--family") + 1]
            meaning["image_updates"] = words[words.index("--container-image-name-updates") + 1]
            continue
        if words[0] == "verify_revision_is_deployed":
            attempts = int(words[words.index("--max-poll-attempts") + 1])
            interval = int(words[words.index("--poll-interval") + 1])
            meaning["wait_seconds"] = attempts * interval
            for flag, field in (("--cluster", "cluster"), ("--service", "service"), ("--task-definition-arn", "task_definition")):
                if flag in words:
                    meaning[field] = words[words.index(flag) + 1]
            continue
        raise SystemExit(f"orb/versions/behaviour.yml: cannot read the old command {line!r}")
    if meaning["region"] is None:
        # docker alone: the region of the ECR host it tagged for.
        for reference in sorted(meaning["pushed"] | meaning["local"]):
            match = re.match(r"^\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.", reference)
            if match:
                meaning["region"] = match.group(1)
                break
    return meaning


def our_meaning(args, environment, caller_account):
    """What `deployer ARGS` does, in the same terms."""
    meaning = empty_meaning()
    flags = {}
    repeated = {}
    i = 1 if args[0] != "repo" else 2
    while i < len(args):
        word = args[i]
        if "=" in word and word.startswith("--"):
            name, value = word.split("=", 1)
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            name, value = word, args[i + 1]
            i += 2
        else:
            name, value = word, True
            i += 1
        flags[name] = value
        repeated.setdefault(name, []).append(value)
    region = flags.get("--region") or environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION")
    meaning["region"] = region
    if args[0] == "push":
        account = flags.get("--registry-id") or caller_account
        if "--registry" in flags:
            host = flags["--registry"]
        elif "--public-registry" in flags:
            host = "public.ecr.aws/" + str(flags.get("--public-registry-alias", ""))
        else:
            host = f"{account}.dkr.ecr.{region}.amazonaws.com"
        tags = [f"{host}/{flags['--repo']}:{tag.strip()}" for tag in str(flags.get("--tag", "latest")).split(",") if tag.strip()]
        if "--no-build" not in flags:
            build_path = flags.get("--build-path", ".")
            meaning["context"] = norm(build_path)
            meaning["dockerfile"] = norm(os.path.join(flags.get("--path", "."), flags.get("--dockerfile", "Dockerfile")))
            meaning["build_args"] = repeated.get("--build-arg", [])
            meaning["platform"] = flags.get("--platform")
            meaning["local"].update(repeated.get("--local-tag", []))
        if "--no-push" in flags:
            meaning["local"].update(tags)
        else:
            meaning["pushed"].update(tags)
        if "--create-repo" in flags:
            meaning["create_repo"] = True
            meaning["scan_on_push"] = flags.get("--repo-scan-on-push", "true") in ("true", True)
    elif args[0] == "ecr-login":
        account = flags.get("--registry-id") or caller_account
        meaning["login"] = flags.get("--registry") or (
            "public.ecr.aws" if "--public-registry" in flags else f"{account}.dkr.ecr.{region}.amazonaws.com")
    elif args[0] == "run-task":
        meaning["cluster"] = flags.get("--cluster")
        meaning["task_definition"] = flags.get("--task-definition")
        meaning["count"] = int(flags.get("--count", 1))
        meaning["launch_type"] = flags.get("--launch-type")
        meaning["subnets"] = ",".join(repeated.get("--subnets", [])) or None
        meaning["security_groups"] = ",".join(repeated.get("--security-groups", [])) or None
        meaning["assign_public_ip"] = flags.get("--assign-public-ip", "DISABLED" if "--subnets" in flags else None)
    elif args[0] == "register-task-definition":
        meaning["family"] = flags.get("--family")
        meaning["image_updates"] = flags.get("--container-image-name-updates")
    elif args[0] == "wait":
        meaning["cluster"] = flags.get("--cluster")
        meaning["service"] = flags.get("--service")
        meaning["task_definition"] = flags.get("--task-definition")
        meaning["wait_seconds"] = int(str(flags["--timeout"]).rstrip("s")) if "--timeout" in flags else None
    elif args[0] == "tag-image":
        meaning["source_tag"] = flags.get("--source-tag")
        meaning["target_tags"] = ",".join(repeated.get("--target-tag", [])) or None
    elif args[0] == "update-service":
        meaning["family"] = flags.get("--family")
        meaning["cluster"] = flags.get("--cluster")
        # Without --service, deployer updates the service named like the family, as the aws-ecs
        # orb did.
        meaning["service"] = flags.get("--service") or flags.get("--family")
        meaning["image_updates"] = flags.get("--container-image-name-updates")
        meaning["force_new_deployment"] = "--force-new-deployment" in flags
        if "--no-wait" not in flags:
            meaning["wait_seconds"] = int(str(flags["--timeout"]).rstrip("s")) if "--timeout" in flags else None
    return meaning


def compared(meaning, old):
    """Only the fields the old side says something about (a build, a repository, a service)."""
    fields = {k: v for k, v in meaning.items()}
    if old["context"] is None:
        for key in ("context", "dockerfile", "build_args", "platform"):
            fields.pop(key)
    if old["platform"] is None:
        fields.pop("platform", None)
    if old["region"] is None:
        # ECR Public: its API is in us-east-1 whatever the job's region.
        fields.pop("region")
    return fields


def behaviour(deployer, quiet=False, path=BEHAVIOUR):
    """Every invocation of orb/versions/behaviour.yml (or `path`): the old command lines' meaning
    against `deployer orb plan`'s. Returns (invocations compared, problems)."""
    records = load(path)["invocations"]
    orb = pack()
    problems = []
    for record in records:
        where = f"{record['orb']} {record['version']} {record['element']} ({record['name']})"
        section, name = record["element"].split("/", 1)
        overrides = {k: str(v) for k, v in (record.get("parameters") or {}).items()}
        if section == "jobs" or name not in orb["commands"] or not any(
                isinstance(s, dict) and "DEPLOYER_ORB_STEP" in ((s.get("run") or {}).get("environment") or {})
                for s in steps_of(orb["commands"][name].get("steps"))):
            step_env = job_step_environment(orb, name, overrides, section)
        else:
            step_env = step_environment(orb, name, overrides)
        if "REFUSAL" in step_env:
            problems.append(f"{where}: our {record['element']} refuses it: {step_env['REFUSAL']}")
            continue
        environment = {k: str(v) for k, v in (record.get("environment") or {}).items()}
        with tempfile.TemporaryDirectory() as checkout:
            for path, text in (record.get("files") or {}).items():
                target = os.path.join(checkout, path)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)
            env = {"PATH": os.environ.get("PATH", ""), "HOME": checkout, **environment,
                   **{k: str(v) for k, v in step_env.items()}}
            run = subprocess.run([deployer, "orb", "plan", step_env["DEPLOYER_ORB_STEP"]], cwd=checkout,
                                 env=env, capture_output=True, text=True)
        if run.returncode != 0:
            problems.append(f"{where}: deployer orb plan failed: {run.stderr.strip()}")
            continue
        args = json.loads(run.stdout)
        old = old_meaning(record["old"], environment)
        ours = our_meaning(args, environment, str(record.get("caller_account", CALLER_ACCOUNT)))
        old_fields, our_fields = compared(old, old), compared(ours, old)
        kept = record.get("kept") or {}
        for field in sorted(set(old_fields) | set(our_fields)):
            same = old_fields.get(field) == our_fields.get(field)
            if field in kept and same:
                problems.append(f"{where}: {field} is kept as a difference, but both sides agree now: remove it from kept")
            elif field not in kept and not same:
                problems.append(f"{where}: {field}: the old orb {old_fields.get(field)!r}, ours {our_fields.get(field)!r} "
                                f"(deployer {' '.join(args)})")
        if not quiet:
            print(f"  {where}: deployer {' '.join(args)}" + (f" (kept: {', '.join(sorted(kept))})" if kept else ""))
    return len(records), problems


BEHAVIOUR_BEGIN = "<!-- behaviour: generated by `scripts/orb.py behaviour --write-readme` from orb/versions/behaviour.yml, checked by `scripts/orb.py check` -->"
BEHAVIOUR_END = "<!-- end of behaviour -->"


def behaviour_table():
    """The README's table of what an old invocation does differently on our orb, and why: the
    `kept` entries of orb/versions/behaviour.yml, by version."""
    records = load(BEHAVIOUR)["invocations"]
    lines = [f"{len(records)} old invocations are compared with what our orb runs for them "
             "(`orb/versions/behaviour.yml`, checked by `scripts/orb.py check`). What we keep "
             "different on purpose:", "",
             "| old version | name | what differs | why |", "|---|---|---|---|"]
    for record in records:
        for field, reason in (record.get("kept") or {}).items():
            lines.append(f"| {record['orb']} {record['version']} | `{record['element'].split('/', 1)[1]}` "
                         f"({record['name']}) | {field} | {' '.join(str(reason).split())} |")
    return "\n".join(lines) + "\n"


def check_behaviour(problems, deployer):
    count, found = behaviour(deployer, quiet=True)
    for problem in found:
        problems.add("orb/versions/behaviour.yml", problem)
    if readme_section(open(README, encoding="utf-8").read(), BEHAVIOUR_BEGIN, BEHAVIOUR_END) != behaviour_table():
        problems.add("README.md", "the table of what behaves differently is stale: run scripts/orb.py behaviour --write-readme")
    return count


# Values for an old orb's required parameters when `accepts` invokes a component.
SAMPLE_VALUES = {
    "repo": "tutorial-site-registry",
    "family": "tutorial-site-task",
    "cluster": "tutorial-site-cluster",
    "cluster-name": "tutorial-site-cluster",
    "task-definition": "tutorial-site-task",
    "task_definition": "tutorial-site-task",
    "task-definition-arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2",
    "task_definition_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2",
    "task-definition-json": "task-definition.json",
    "task_definition_json": "task-definition.json",
    "rule-name": "nightly",
    "rule_name": "nightly",
    "account-url": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "source-tag": "v1",
    "source_tag": "v1",
    "tag": "latest",
}


def type_accepts(old, ours):
    """Whether a value CircleCI accepts for the old declaration is accepted by ours; why not."""
    old_type = "string" if old["type"] == "env_var_name" else old["type"]
    our_type = "string" if ours.get("type") == "env_var_name" else ours.get("type")
    if old_type == "enum":
        if our_type == "string":
            return None
        missing = [v for v in old.get("enum") or [] if v not in (ours.get("enum") or [])]
        return f"enum values {missing} are not ours" if our_type != "enum" or missing else None
    if old_type != our_type:
        return f"is a {our_type}, the old orb's a {old_type}"
    return None


def accepts(orb, tables, pending, type_exceptions):
    """Every job, command and executor name of every old orb version, with each parameter as it
    declared it, against the packed orb: the name exists in the same section, each parameter is
    declared with a type that takes the old values, an optional old parameter is optional here;
    then each job and command is expanded as CircleCI would (the version's required parameters
    given sample values, every other at the old version's default, written as it wrote it),
    reaching its deployer step with no refusal. Returns (checked count, problems, pending seen)."""
    problems = []
    count = 0
    seen_pending = set()
    seen_exceptions = set()
    for orb_name, table in tables.items():
        for version in table["versions"]:
            where_version = f"{orb_name} {version['version']}"
            for section in ("jobs", "commands", "executors"):
                for name, old in (version.get(section) or {}).items():
                    count += 1
                    key = f"{orb_name} {section}/{name}"
                    if key in pending:
                        seen_pending.add(key)
                        if name in (orb.get(section) or {}):
                            problems.append(f"orb/versions/aliases.yml: pending {key} is in the orb now: remove it from pending")
                        continue
                    ours = (orb.get(section) or {}).get(name)
                    where = f"{where_version} {section}/{name}"
                    if ours is None:
                        problems.append(f"{where}: our orb has no such {section[:-1]}")
                        continue
                    declared = ours.get("parameters") or {}
                    invocation = {}
                    for param, spec in old["parameters"].items():
                        count += 1
                        mine = declared.get(param)
                        if mine is None:
                            problems.append(f"{where}: parameter {param} is not declared")
                            continue
                        wrong = type_accepts(spec, mine)
                        exception = f"{orb_name} {version['version']} {section}/{name} {param}"
                        if wrong and exception in type_exceptions:
                            seen_exceptions.add(exception)
                        elif wrong:
                            problems.append(f"{where}: parameter {param} {wrong}")
                        if "default" in spec and "default" not in mine:
                            problems.append(f"{where}: parameter {param} is optional there and required here")
                        if spec["type"] == "enum" and "default" in spec and mine.get("enum") and spec["default"] not in mine["enum"]:
                            problems.append(f"{where}: parameter {param}'s old default {spec['default']!r} is not one of ours")
                        if spec["type"] in ("steps", "executor"):
                            continue
                        if "default" in spec:
                            invocation[param] = circleci_value(spec["default"])
                        elif param in SAMPLE_VALUES:
                            invocation[param] = SAMPLE_VALUES[param]
                        else:
                            problems.append(f"{where}: no sample value for the required {param}")
                    if section == "executors" or any(p not in declared for p in invocation):
                        continue
                    runs_deployer = any(
                        isinstance(step, dict) and isinstance(step.get("run"), dict)
                        and "DEPLOYER_ORB_STEP" in (step["run"].get("environment") or {})
                        for step in steps_of(ours.get("steps")))
                    try:
                        if section == "commands" and runs_deployer:
                            found = step_environment(orb, name, invocation)
                        else:
                            found = job_step_environment(orb, name, invocation, section)
                    except SystemExit as e:
                        problems.append(f"{where}: expanding it fails: {e}")
                        continue
                    if "REFUSAL" in found:
                        problems.append(f"{where}: at the old defaults the {section[:-1]} refuses: {found['REFUSAL']}")
    for exception in sorted(set(type_exceptions) - seen_exceptions):
        problems.append(f"orb/versions/aliases.yml: type exception {exception} does not happen")
    return count, problems, seen_pending
