#!/usr/bin/env python3
"""The table of every aws-ecr and aws-ecs orb version's jobs, commands, executors and parameters.

    scripts/orb_versions.py [--mirrors DIR] write   read the orbs' sources, write orb/versions/*.json
                                                    and the generated part of orb/versions/README.md
    scripts/orb_versions.py [--mirrors DIR] check   exit 1 when a committed file differs from what
                                                    write writes, or a name lacks a mapping.yml entry
    scripts/orb_versions.py [--mirrors DIR] history aws-ecr|aws-ecs|aws-ecr-monorepo
                                                    every first-parent commit whose interface
                                                    (names, types, defaults) changed: how the
                                                    untagged versions below were placed

The sources are git mirrors of CircleCI-Public/aws-ecr-orb, CircleCI-Public/aws-ecs-orb and
CircleCI-Public/circleci-orbs (where aws-ecr 0.0.x lived), each a bare repository at
DIR/CircleCI-Public+NAME/repo (the default DIR is $ORB_MIRRORS or /work/.mirror). Each version
is read at its release tag; the tag must still point at the commit recorded in VERSIONS, so a
moved tag fails the run instead of silently changing the table. Versions published before the
orbs' repositories tagged releases are read at a commit, with the evidence for it in `source`.

Both layouts are read: orb-tools' unpacked `src/@orb.yml` with `jobs/`, `commands/`,
`executors/` folders (file name = element name), and one packed file (`src/orb.yml`,
`src/@orb.yml`, the handlebars template `src/orb.yml.hbs`, or the monorepo's
`src/aws-ecr/orb.yml`). What is recorded per element: its description's first sentence, its
parameters (type; default exactly as written, absent for a required parameter; enum values;
description's first sentence); for jobs the executor as written and the orb commands their steps
call; for executors what they run on (machine, docker image, macos) and their own settings.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "orb", "versions")
SECTIONS = ("jobs", "commands", "executors")
PACKED = ("src/@orb.yml", "src/orb.yml", "src/orb.yml.hbs", "orb.yml")

REPOS = {
    "aws-ecr": "CircleCI-Public/aws-ecr-orb",
    "aws-ecs": "CircleCI-Public/aws-ecs-orb",
    "monorepo": "CircleCI-Public/circleci-orbs",
}

# Every major version of both orbs, at its last release. `tag` is read when set (and must point at
# `commit`); otherwise `commit` is read, for the reason given in `source`.
VERSIONS = {
    "aws-ecr": [
        {
            "version": "0.0.x (circleci-orbs)",
            "repo": "monorepo",
            "commit": "bb0aa396c98eb7b459d6d8b272f17a8e3829930a",
            "path": "src/aws-ecr/orb.yml",
            "source": "untagged: CircleCI-Public/circleci-orbs published circleci/aws-ecr 0.0.x from "
            "src/aws-ecr/orb.yml until this commit (the next, eb222b6, removes it: 'latest is in "
            "separate repo')",
        },
        {
            "version": "0.0.x (aws-ecr-orb)",
            "commit": "7cfc4d3119c4e57f3987540f88b6f1096fe20ea2",
            "source": "untagged: the last master commit whose parameters are strings holding values "
            "(region: us-east-1, account-url: the URL); the next master commit, 55ab1d0 "
            "(2019-01-09), turns them into env_var_name. Version numbers of this period were "
            "published by hand and are not recorded in the repository (aws-ecs-orb's examples "
            "of 2018-12 use circleci/aws-ecr@0.0.4)",
        },
        {
            "version": "1.x-5.x",
            "commit": "3f8ec82abdacded58bb251565429d14d188d935d",
            "source": "untagged: the last master commit before 613a5a8/4156be0 (2019-05-22) renamed "
            "the job build_and_push_image to build-and-push-image, which public configs show "
            "as 6.0.0's name. Majors 1-5 were promoted by hand from dev builds of master "
            "between 55ab1d0 (2019-01-09) and this commit and their commits are not recorded; "
            "every interface change in that range only adds (scripts/orb_versions.py history "
            "aws-ecr), so this commit's names are a superset of each of them",
        },
        {"version": "6.15.3", "tag": "v6.15.3", "commit": "30a0825862bf2e75c46b24df62822fc3a671a80c"},
        {"version": "7.3.0", "tag": "v7.3.0", "commit": "a44ce37f36b849d4ba853d2b3eee948376b6e1a9"},
        {"version": "8.2.1", "tag": "v8.2.1", "commit": "1d72438e3487c2f871f962dcff3a00b4ee1cb706"},
        {"version": "9.8.1", "tag": "v9.8.1", "commit": "286f3419ccd03fb4364a4715007897c6888c9b05"},
    ],
    "aws-ecs": [
        {
            "version": "0.0.22",
            "commit": "568d10ac4c592ad4b4c445a834c3c603cd2b0a02",
            "source": "untagged: CHANGELOG.md (as of v2.3.0) gives 0.0.22 as PR #69, merged as this "
            "commit; 1.0.0 (PR #77, tag major-release-v1.0.0) changed the build only",
        },
        {
            "version": "1.4.0",
            "tag": "minor-release-v1.4.0",
            "commit": "0f7fce6f951ff6ccdcf76538efa781eef9efb5f0",
        },
        {"version": "2.3.0", "tag": "v2.3.0", "commit": "9c88f232281bcf6db722273d8652a0624bda7651"},
        {"version": "3.2.0", "tag": "v3.2.0", "commit": "daa548c8b95139bfec108930fc037eab14c73019"},
        {"version": "4.1.0", "tag": "v4.1.0", "commit": "d99f46f6c9182e7e089c8d53ef04e744fb6a6719"},
        {"version": "5.2.2", "tag": "v5.2.2", "commit": "bb0bace87179142ee04dfa7f6f790dc557589337"},
        {"version": "6.0.2", "tag": "v6.0.2", "commit": "1c53fd35ebf0628487d87aa48806fce5f5ef55c4"},
        {"version": "7.2.2", "tag": "v7.2.2", "commit": "4b8de9470907a69291975bdeb15446f293ca6cb0"},
        {"version": "8.0.0", "tag": "v8.0.0", "commit": "53077bf17874255758a515d11bf52c945ca05ad8"},
    ],
}


class Failure(Exception):
    pass


def git(gitdir, *args):
    result = subprocess.run(["git", "--git-dir", gitdir, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"git {' '.join(args)} in {gitdir}: {result.stderr.strip()}")
    return result.stdout


def mirror(mirrors, key):
    owner, name = REPOS[key].split("/")
    path = os.path.join(mirrors, f"{owner}+{name}", "repo")
    if not os.path.isdir(path):
        raise Failure(f"no mirror of {REPOS[key]} at {path} (fetch github:{REPOS[key]})")
    return path


def files_at(gitdir, commit):
    return git(gitdir, "ls-tree", "-r", "--name-only", commit).splitlines()


def show(gitdir, commit, path):
    return git(gitdir, "show", f"{commit}:{path}")


def parse(text, where):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise Failure(f"{where} does not parse: {e}")


def load_orb(gitdir, commit, path=None):
    """The orb at a commit, packed into one mapping, and the files it was read from."""
    files = files_at(gitdir, commit)
    if path is None:
        path = next((p for p in PACKED if p in files), None)
        if path is None:
            raise Failure(f"{commit}: no orb source ({', '.join(PACKED)})")
    orb = parse(show(gitdir, commit, path), f"{commit}:{path}") or {}
    read = [path]
    base = os.path.dirname(path)
    for section in SECTIONS:
        prefix = f"{base}/{section}/"
        for f in sorted(files):
            if f.startswith(prefix) and "/" not in f[len(prefix):] and f.endswith((".yml", ".yaml")):
                name = os.path.splitext(f[len(prefix):])[0]
                orb.setdefault(section, {})
                if orb[section] is None:
                    orb[section] = {}
                orb[section][name] = parse(show(gitdir, commit, f), f"{commit}:{f}")
                read.append(f)
    return orb, read


ABBREVIATIONS = re.compile(r"(?:\b(?:e\.g|i\.e|etc|ex|vs|approx|incl|Ex)\.|\b[A-Za-z]\.)$")


def first_sentence(text):
    """A description's first sentence, whitespace collapsed."""
    if not isinstance(text, str):
        return None
    flat = " ".join(text.split())
    for m in re.finditer(r"[.!?](?=\s|$)", flat):
        head = flat[: m.end()]
        if ABBREVIATIONS.search(head):
            continue
        return head
    return flat


def parameter(spec):
    spec = spec or {}
    out = {"type": spec.get("type")}
    if "default" in spec:
        out["default"] = spec["default"]
    else:
        out["required"] = True
    if "enum" in spec:
        out["enum"] = spec["enum"]
    out["description"] = first_sentence(spec.get("description"))
    return out


def parameters(body):
    return {name: parameter(spec) for name, spec in ((body or {}).get("parameters") or {}).items()}


BUILTIN_STEPS = {
    "run", "checkout", "setup_remote_docker", "save_cache", "restore_cache", "store_artifacts",
    "store_test_results", "persist_to_workspace", "attach_workspace", "add_ssh_keys", "when",
    "unless", "deploy",
}


def called(steps, orb_commands):
    """The orb commands (ours or of imported orbs, `alias/name`) and `steps` parameters a step list
    runs, in order, descending into when/unless."""
    if isinstance(steps, str):
        return ["steps: " + " ".join(steps.split())]
    found = []
    for step in steps or []:
        if isinstance(step, str):
            name, args = step, None
        elif isinstance(step, dict) and len(step) == 1:
            (name, args), = step.items()
        else:
            continue
        if name in ("when", "unless") and isinstance(args, dict):
            found += [c for c in called(args.get("steps"), orb_commands) if c not in found]
            continue
        if name == "steps" and isinstance(args, str):
            name = "steps: " + " ".join(args.split())
        if name in BUILTIN_STEPS and name not in orb_commands:
            continue
        if name not in found:
            found.append(name)
    return found


def executor_summary(body):
    body = body or {}
    out = {}
    if "machine" in body:
        out["kind"] = "machine"
        machine = body["machine"]
        out["machine"] = machine
    elif "docker" in body:
        out["kind"] = "docker"
        out["images"] = [d.get("image") for d in body["docker"] or [] if isinstance(d, dict)]
    elif "macos" in body:
        out["kind"] = "macos"
        out["macos"] = body["macos"]
    else:
        out["kind"] = None
    for key in ("resource_class", "shell", "working_directory", "environment"):
        if key in body:
            out[key] = body[key]
    return out


def element(section, body, orb_commands):
    body = body or {}
    out = {"description": first_sentence(body.get("description"))}
    if section == "jobs":
        if "executor" in body:
            out["executor"] = body["executor"]
        else:
            inline = {k: body[k] for k in ("docker", "machine", "macos") if k in body}
            out["executor"] = {"inline": executor_summary(inline)} if inline else None
        out["calls"] = called(body.get("steps"), orb_commands)
    elif section == "commands":
        out["calls"] = called(body.get("steps"), orb_commands)
    else:
        out.update(executor_summary(body))
    out["parameters"] = parameters(body)
    return out


def interface(orb):
    orb_commands = set((orb.get("commands") or {}).keys())
    out = {}
    for section in SECTIONS:
        entries = orb.get(section) or {}
        out[section] = {name: element(section, entries[name], orb_commands) for name in sorted(entries)}
    return out


def read_version(mirrors, orb_name, spec):
    gitdir = mirror(mirrors, spec.get("repo", orb_name))
    commit = spec["commit"]
    if spec.get("tag"):
        at = git(gitdir, "rev-list", "-n", "1", spec["tag"]).strip()
        if at != commit:
            raise Failure(f"{orb_name} {spec['version']}: tag {spec['tag']} is at {at}, VERSIONS says {commit}")
    else:
        git(gitdir, "cat-file", "-e", f"{commit}^{{commit}}")
    orb, read = load_orb(gitdir, commit, spec.get("path"))
    date = git(gitdir, "log", "-1", "--format=%cs", commit).strip()
    entry = {
        "version": spec["version"],
        "repository": REPOS[spec.get("repo", orb_name)],
        "tag": spec.get("tag"),
        "commit": commit,
        "date": date,
        "source": spec.get("source", f"release tag {spec.get('tag')}"),
        "files": read,
        "description": first_sentence(orb.get("description")),
        "orbs": orb.get("orbs") or {},
    }
    entry.update(interface(orb))
    return entry


def table(mirrors):
    out = {}
    for orb_name, versions in VERSIONS.items():
        out[orb_name] = {
            "orb": f"circleci/{orb_name}",
            "generated_by": "scripts/orb_versions.py write",
            "versions": [read_version(mirrors, orb_name, spec) for spec in versions],
        }
    return out


def render(data):
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def signature(orb):
    """What a user's config depends on: element and parameter names, types, defaults, enums."""
    sig = {}
    for section, entries in interface(orb).items():
        for name, body in entries.items():
            params = {p: (v.get("type"), json.dumps(v.get("default")), tuple(v.get("enum") or ())) for p, v in body["parameters"].items()}
            sig[f"{section}/{name}"] = params
    return sig


def describe_change(old, new):
    notes = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            notes.append(f"-{key}")
        elif key not in old:
            notes.append(f"+{key}({','.join(new[key])})")
        else:
            for p in sorted(set(old[key]) | set(new[key])):
                if p not in new[key]:
                    notes.append(f"{key}: -{p}")
                elif p not in old[key]:
                    notes.append(f"{key}: +{p}")
                elif old[key][p] != new[key][p]:
                    notes.append(f"{key}: {p} {old[key][p]} -> {new[key][p]}")
    return notes


def history(mirrors, orb_name):
    key = {"aws-ecr-monorepo": "monorepo"}.get(orb_name, orb_name)
    gitdir = mirror(mirrors, key)
    path = "src/aws-ecr/orb.yml" if key == "monorepo" else None
    if key == "monorepo":
        commits = git(gitdir, "log", "--all", "--reverse", "--format=%H", "--", "src/aws-ecr/orb.yml").split()
    else:
        commits = git(gitdir, "rev-list", "--first-parent", "--reverse", "HEAD").split()
    tags = {}
    refs = subprocess.run(["git", "--git-dir", gitdir, "show-ref", "--tags", "-d"], capture_output=True, text=True).stdout
    for line in refs.splitlines():
        sha, ref = line.split()
        tags.setdefault(sha, []).append(ref.replace("refs/tags/", "").replace("^{}", ""))
    previous = None
    for commit in commits:
        try:
            orb, _ = load_orb(gitdir, commit, path)
            sig = signature(orb)
        except Failure as e:
            print(f"{commit[:10]} unreadable: {e}")
            continue
        except Exception as e:  # an old commit with a malformed element
            print(f"{commit[:10]} unreadable: {type(e).__name__}: {e}")
            continue
        if sig != previous:
            info = git(gitdir, "log", "-1", "--format=%cs %s", commit).strip()
            tag = ",".join(t for t in tags.get(commit, []) if not t.startswith("integration-"))
            print(f"{commit[:10]} {info[:90]}{'  [' + tag + ']' if tag else ''}")
            if previous is not None:
                for note in describe_change(previous, sig):
                    print(f"    {note}")
            previous = sig


# The summary (orb/versions/README.md): hand-written prose, and between these markers what
# `write` generates from the table and from orb/versions/mapping.yml (what each name means now).
BEGIN = "<!-- generated by scripts/orb_versions.py write: edit orb/versions/mapping.yml instead -->"
END = "<!-- end of generated part -->"
MAPPING = os.path.join(OUT, "mapping.yml")
SUMMARY = os.path.join(OUT, "README.md")


def snake(name):
    return name.replace("-", "_")


def cell(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def shown(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    return str(value)


def spans(versions, values):
    """Consecutive versions with the same value, as (first, last, value)."""
    out = []
    for version, value in zip(versions, values):
        if value is None:
            continue
        if out and out[-1][2] == value and out[-1][3] == versions.index(version) - 1:
            out[-1] = (out[-1][0], version, value, versions.index(version))
        else:
            out.append((version, version, value, versions.index(version)))
    return [(a, b, v) for a, b, v, _ in out]


def span_text(first, last):
    return first if first == last else f"{first} – {last}"


def summary_tables(data, mapping):
    lines = []
    problems = []
    for orb_name, body in data.items():
        versions = [v["version"] for v in body["versions"]]
        orb_map = (mapping or {}).get(orb_name) or {}
        element_map = orb_map.get("elements") or {}
        param_map = orb_map.get("parameters") or {}
        lines += [f"## {body['orb']}", "", "| version | tag | commit | date | source |", "|---|---|---|---|---|"]
        for v in body["versions"]:
            lines.append(f"| {v['version']} | {v['tag'] or '—'} | `{v['commit'][:10]}` | {v['date']} | {cell(v['source'])} |")
        lines += ["", f"### {body['orb']}: jobs, commands, executors", "",
                  "| name | kind | versions | in our orb |", "|---|---|---|---|"]
        elements = {}
        params = {}
        for v in body["versions"]:
            for section in SECTIONS:
                for name, element in v[section].items():
                    elements.setdefault((section, name), []).append(v["version"])
                    for p, spec in element["parameters"].items():
                        entry = params.setdefault(snake(p), {"spellings": [], "where": set(), "by_version": {}})
                        if p not in entry["spellings"]:
                            entry["spellings"].append(p)
                        entry["where"].add(snake(name))
                        kind = spec.get("type")
                        default = "(required)" if spec.get("required") else f"`{shown(spec.get('default'))}`"
                        if spec.get("enum"):
                            default += " of " + ", ".join(f"`{shown(e)}`" for e in spec["enum"])
                        entry["by_version"].setdefault(v["version"], set()).add(f"{kind} {default}")
        for (section, name), present in sorted(elements.items(), key=lambda x: (SECTIONS.index(x[0][0]), snake(x[0][1]), x[0][1])):
            key = f"{section}/{name}"
            meaning = element_map.get(key)
            if meaning is None:
                problems.append(f"orb/versions/mapping.yml: {orb_name} elements has no entry {key}")
                meaning = "**unmapped**"
            ranges = ", ".join(span_text(a, b) for a, b, _ in spans(versions, [True if x in present else None for x in versions]))
            lines.append(f"| `{name}` | {section[:-1]} | {ranges} | {cell(meaning)} |")
        for key in element_map:
            section, _, name = key.partition("/")
            if (section, name) not in elements:
                problems.append(f"orb/versions/mapping.yml: {orb_name} elements has {key}, which no version has")
        lines += ["", f"### {body['orb']}: parameters", "",
                  "Names are grouped by their snake_case spelling; \"type, default\" lists every distinct pair "
                  "the version's elements declare, by version range.", "",
                  "| parameter | spellings | in | type, default by version | in deployer's terms |", "|---|---|---|---|---|"]
        for name in sorted(params):
            entry = params[name]
            by = [" / ".join(sorted(entry["by_version"][v])) if v in entry["by_version"] else None for v in versions]
            history_text = "; ".join(f"{span_text(a, b)}: {val}" for a, b, val in spans(versions, by))
            meaning = param_map.get(name)
            if meaning is None:
                problems.append(f"orb/versions/mapping.yml: {orb_name} parameters has no entry {name}")
                meaning = "**unmapped**"
            spell = ", ".join(f"`{x}`" for x in sorted(entry["spellings"]))
            where = ", ".join(sorted(entry["where"]))
            lines.append(f"| `{name}` | {spell} | {where} | {cell(history_text)} | {cell(meaning)} |")
        for name in param_map:
            if name not in params:
                problems.append(f"orb/versions/mapping.yml: {orb_name} parameters has {name}, which no version has")
        lines.append("")
    return "\n".join(lines), problems


def summary(data):
    try:
        with open(MAPPING, encoding="utf-8") as f:
            mapping = yaml.safe_load(f)
    except FileNotFoundError:
        mapping = {}
    tables, problems = summary_tables(data, mapping)
    try:
        with open(SUMMARY, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = f"# The aws-ecr and aws-ecs orbs' versions\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise Failure(f"{SUMMARY} lacks the markers {BEGIN} ... {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{tables}\n{END}{tail}", problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", default=os.environ.get("ORB_MIRRORS", "/work/.mirror"))
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("write")
    sub.add_parser("check")
    h = sub.add_parser("history")
    h.add_argument("orb", choices=["aws-ecr", "aws-ecs", "aws-ecr-monorepo"])
    args = parser.parse_args()
    try:
        if args.action == "history":
            history(args.mirrors, args.orb)
            return 0
        data = table(args.mirrors)
        text, problems = summary(data)
        outputs = [(SUMMARY, text)] + [(os.path.join(OUT, f"{n}.json"), render(b)) for n, b in data.items()]
        for path, text in outputs:
            if args.action == "write":
                os.makedirs(OUT, exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            else:
                try:
                    with open(path, encoding="utf-8") as f:
                        committed = f.read()
                except FileNotFoundError:
                    committed = None
                if committed != text:
                    problems.append(f"{os.path.relpath(path, ROOT)} differs from what scripts/orb_versions.py write writes")
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        return 0
    except Failure as e:
        print(f"orb_versions: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
