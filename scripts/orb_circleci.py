"""CircleCI's expansion of the packed orb, as far as the checks and tests need it: the environment
a step gets (parameters placed as CircleCI places them), a job's `when` steps evaluated, and
every step an invocation runs (`scripts/orb.py env` and `steps`).
"""

from orb_common import PARAM_USE, steps_of


def substitute(node, replacements):
    """Our job's body with each `<< parameters.X >>` of `replacements` replaced: by
    `<< parameters.Y >>` for ("param", Y), by a value for ("value", V) (a whole-string use becomes
    the value itself, so booleans stay booleans; a `steps` value is spliced where it is used)."""
    def one(text):
        def part(m):
            if m.group(1) not in replacements:
                return m.group(0)
            kind, what = replacements[m.group(1)]
            if kind == "param":
                return f"<< parameters.{what} >>"
            if kind == "concat":
                return "".join(f"<< parameters.{p} >>" for p in what)
            return circleci_value(what)

        match = PARAM_USE.fullmatch(text.strip())
        if match and match.group(1) in replacements:
            kind, what = replacements[match.group(1)]
            return what if kind == "value" else PARAM_USE.sub(part, text)
        return PARAM_USE.sub(part, text)

    if isinstance(node, dict):
        return {k: substitute(v, replacements) for k, v in node.items()}
    if isinstance(node, list):
        out = []
        for item in node:
            if isinstance(item, dict) and list(item) == ["steps"] and isinstance(item["steps"], str):
                value = one(item["steps"])
                if isinstance(value, list):
                    out.extend(substitute(value, replacements))
                    continue
                out.append({"steps": value})
                continue
            out.append(substitute(item, replacements))
        return out
    if isinstance(node, str):
        return one(node)
    return node


def circleci_value(value):
    """A parameter value as text, before CircleCI places it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# CircleCI places a boolean parameter as a YAML boolean: an environment variable whose whole
# value is `<< parameters.x >>` gets 1 or 0; inside a longer string it reads true or false.
BOOLEAN_TEXT = {"true": ("1", "true"), "1": ("1", "true"), "false": ("0", "false"), "0": ("0", "false")}


def placed(value, boolean, whole):
    if not boolean or value not in BOOLEAN_TEXT:
        return value
    return BOOLEAN_TEXT[value][0 if whole else 1]


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
    boolean = {name for name, p in params.items() if p.get("type") == "boolean"}
    for step in steps_of(spec.get("steps")):
        env = (step.get("run") or {}).get("environment") if isinstance(step, dict) and isinstance(step.get("run"), dict) else None
        if env and "DEPLOYER_ORB_STEP" in env:
            environment = {}
            for key, text in env.items():
                text = str(text)
                whole = PARAM_USE.fullmatch(text.strip()) is not None
                environment[key] = PARAM_USE.sub(lambda m: placed(values[m.group(1)], m.group(1) in boolean, whole), text)
            return environment
    raise SystemExit(f"{command} runs no deployer step")


def condition_holds(condition, values):
    """A `when` condition as CircleCI evaluates it: and, or, not, equal; a string is true when
    it is not empty and not false."""
    substitute = lambda text: PARAM_USE.sub(lambda m: values.get(m.group(1), ""), circleci_value(text))
    if isinstance(condition, dict):
        (key, value), = condition.items()
        if key == "and":
            return all(condition_holds(c, values) for c in value)
        if key == "or":
            return any(condition_holds(c, values) for c in value)
        if key == "not":
            return not condition_holds(value, values)
        if key == "equal":
            return len({substitute(v) for v in value}) == 1
        raise SystemExit(f"condition {key} is not one scripts/orb.py evaluates")
    return substitute(condition) not in ("", "false", "0")


def job_step_environment(orb, job, overrides, section="jobs"):
    """The environment CircleCI gives the deployer step of `job`: its `when` steps evaluated
    (nested ones too), each command invocation's arguments filled in; a refusal step that runs is
    returned as {"REFUSAL": why}."""
    spec = orb[section][job]
    values = command_values(spec, overrides, "the job")

    def walk(steps):
        for step in steps or []:
            if isinstance(step, dict) and "when" in step:
                if condition_holds(step["when"]["condition"], values):
                    found = walk(step["when"]["steps"] if isinstance(step["when"]["steps"], list) else [])
                    if found is not None:
                        return found
                continue
            if isinstance(step, dict) and isinstance(step.get("run"), dict):
                env = step["run"].get("environment") or {}
                if "REFUSAL" in env:
                    return {"REFUSAL": env["REFUSAL"]}
                continue
            if isinstance(step, dict) and len(step) == 1:
                (command, args), = step.items()
                if command in orb.get("commands", {}) and command != "install":
                    filled = {k: PARAM_USE.sub(lambda m: values.get(m.group(1), ""), circleci_value(v)) for k, v in (args or {}).items()}
                    return step_environment(orb, command, filled)
        return None

    found = walk(spec.get("steps"))
    if found is None:
        raise SystemExit(f"{job} runs no deployer step")
    return found


def run_steps(orb, name, overrides, section="commands"):
    """Every step CircleCI runs for an invocation of `name` (a command or a job), in order: `when`
    conditions evaluated, each orb command invoked expanded with its arguments filled in (the
    install step too), each `run` as {"name", "command", "environment"} with the parameters
    placed; a built-in step (checkout, setup_remote_docker...) as {"builtin": NAME}. What
    `tests/cli` runs to play a job or a command of the orb as CircleCI would."""
    spec = orb[section][name]
    values = command_values(spec, overrides, "the job" if section == "jobs" else name)
    boolean = {p for p, d in (spec.get("parameters") or {}).items() if d.get("type") == "boolean"}
    place = lambda text, whole: PARAM_USE.sub(
        lambda m: placed(values.get(m.group(1), ""), m.group(1) in boolean, whole), text)
    out = []
    for step in spec.get("steps") or []:
        if isinstance(step, str):
            step = {step: {}}
        if not isinstance(step, dict):
            continue
        if "when" in step or "unless" in step:
            key = "when" if "when" in step else "unless"
            holds = condition_holds(step[key]["condition"], values)
            if holds == (key == "when"):
                out.extend(run_steps({**orb, "commands": {**orb["commands"], "\0inline": {
                    "parameters": spec.get("parameters") or {}, "steps": step[key]["steps"]}}},
                    "\0inline", values))
            continue
        (command, args), = step.items()
        if command == "run":
            run = args if isinstance(args, dict) else {"command": args}
            env = {k: place(str(v), PARAM_USE.fullmatch(str(v).strip()) is not None)
                   for k, v in (run.get("environment") or {}).items()}
            out.append({"name": place(str(run.get("name", "")), False),
                        "command": place(str(run.get("command", "")), False),
                        "environment": env})
        elif command in orb.get("commands", {}):
            filled = {k: PARAM_USE.sub(lambda m: values.get(m.group(1), ""), circleci_value(v))
                      for k, v in (args or {}).items()}
            out.extend(run_steps(orb, command, filled))
        else:
            out.append({"builtin": command})
    return out


def command_values(spec, overrides, name):
    """A job's or command's parameter values as CircleCI resolves an invocation: the given ones,
    else defaults; `name` says whose they are in errors ("the job")."""
    params = spec.get("parameters") or {}
    unknown = set(overrides) - set(params)
    if unknown:
        raise SystemExit(f"{name} has no parameter {', '.join(sorted(unknown))}")
    values = {}
    for param, p in params.items():
        if param in overrides:
            values[param] = overrides[param]
        elif "default" in p:
            values[param] = circleci_value(p["default"])
        elif p.get("type") != "steps":
            raise SystemExit(f"{name} needs its required parameter {param}")
    return values
