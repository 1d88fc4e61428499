#!/usr/bin/env python3
"""The deployer orb's pack step and its checks.

    scripts/orb.py pack [--out FILE]         orb/src -> one orb.yml, as `circleci orb pack` does
    scripts/orb.py check --deployer BIN      every check below; exits 1 listing what is wrong
    scripts/orb.py coverage --deployer BIN [--write-readme]
                                             the share of the aws orbs' parameters deployer's
                                             orb takes, per job and command; --write-readme
                                             rewrites the README's generated table
    scripts/orb.py review [--src DIR]        yamllint and the orb review rules alone, on orb/src or DIR
    scripts/orb.py generate [--check]        the commands' and jobs' parameters, DEPLOYER_ORB_STEP and
                                             PARAM_* lines, and what jobs pass their command, from
                                             orb/parameters.json (--check: write nothing, exit 1
                                             when a file differs)
    scripts/orb.py aliases [--write]         the alias components orb/versions generates (the old
                                             orbs' names); --write rewrites orb/aliases.yml
    scripts/orb.py migration [--write-readme] the README's table of what every old orb name means
                                             now (orb/versions/mapping.yml); --write-readme
                                             rewrites it
    scripts/orb.py accepts [--aliases FILE]  every job, command, executor and parameter name of
                                             every aws-ecr and aws-ecs version (orb/versions) is
                                             accepted by the packed orb, expanded as CircleCI does
    scripts/orb.py env [--job|--steps] COMMAND [NAME=VALUE...]
                                             the environment CircleCI gives COMMAND's deployer
                                             step (defaults, then the values given), as JSON;
                                             --job: COMMAND is a job, its `when` steps evaluated;
                                             --steps: COMMAND is a command running another

Checks: every YAML file in orb/ and .circleci/ parses; the commands' and jobs' parameters are
what orb/parameters.json gives; orb/aliases.yml is what orb/versions
generates (the pack step adds its components); yamllint passes on orb/src with
orb-tools' settings (.yamllint); CircleCI's orb review rules (orb-tools-orb's review.bats,
RC001-RC012) hold; packing escapes `<<` in included scripts as `circleci orb pack` does, so a
script with a heredoc survives; the packed orb, each example's usage and .circleci/config.yml
are valid against CircleCI's config schema (SchemaStore's, as shipped by check-jsonschema);
every parameter is used, described, and every use is declared; every PARAM_* a step passes is
one the binary maps (`deployer orb params`) to flags that `deployer SUBCOMMAND --help` really
lists; jobs pass their commands declared parameters with the same defaults; the jobs keep the
aws-ecr and aws-ecs orbs' parameter names and defaults; the README's migration table names
every parameter and its coverage table is the one `coverage` computes; versions agree with
Cargo.toml.
"""
# The command line is here; the work is in modules beside it, one concern each: orb_common
# (paths, loading, shared helpers), orb_table (orb/parameters.json and the YAML it writes),
# orb_pack (packing), orb_circleci (CircleCI's expansion of a step or job), orb_aliases (the
# old orbs' names), orb_checks (the checks on the source and the pack), orb_coverage (the
# README's tables) and orb_old (old invocations and names against ours).
import argparse
import json
import os
import sys

import orb_table
from orb_common import (
    ALIASES, ALIAS_SPEC, FIXTURE, Problems, ROOT, SECTIONS, SRC, VERSIONS, load, params_table,
    write_readme_section,
)
from orb_pack import dump, pack
from orb_circleci import job_step_environment, run_steps, step_environment
from orb_aliases import aliases_text, check_aliases
from orb_checks import (
    check_aws_orbs, check_commands_install_deployer, check_jobs_call_commands,
    check_pack_escapes, check_param_descriptions, check_params_declared_and_used,
    check_readme_table, check_review, check_schema, check_steps_reach_flags, check_versions,
    check_yaml_files, check_yamllint,
)
from orb_coverage import (
    MIGRATION_BEGIN, MIGRATION_END, check_coverage_readme, check_migration_readme, coverage,
    coverage_report, coverage_table, migration_table, write_readme_coverage,
)
from orb_old import (
    BEHAVIOUR, BEHAVIOUR_BEGIN, BEHAVIOUR_END, accepts, behaviour, behaviour_table,
    check_behaviour,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--out", default="-")
    c = sub.add_parser("check")
    c.add_argument("--deployer", required=True)
    v = sub.add_parser("coverage")
    v.add_argument("--deployer", required=True)
    v.add_argument("--write-readme", action="store_true")
    r = sub.add_parser("review")
    r.add_argument("--src", default=SRC)
    g = sub.add_parser("generate", help="write the commands' and jobs' parameters from orb/parameters.json")
    g.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file would change")
    a = sub.add_parser("aliases")
    a.add_argument("--write", action="store_true")
    mg = sub.add_parser("migration", help="the README's table of what every old name means now")
    mg.add_argument("--write-readme", action="store_true")
    c2 = sub.add_parser("accepts", help="every name of every old orb version against the packed orb")
    c2.add_argument("--aliases", help="pack with this aliases file instead of orb/aliases.yml")
    e = sub.add_parser("env")
    e.add_argument("command")
    e.add_argument("values", nargs="*", metavar="NAME=VALUE")
    e.add_argument("--job", action="store_true", help="COMMAND is a job: expand its steps first")
    e.add_argument("--steps", action="store_true",
                   help="COMMAND is a command whose steps run another (an alias): expand them first")
    bh = sub.add_parser("behaviour", help="each old invocation of orb/versions/behaviour.yml against deployer orb plan")
    bh.add_argument("--deployer", required=True)
    bh.add_argument("--write-readme", action="store_true")
    bh.add_argument("--records", default=BEHAVIOUR, help="another records file (the tests' mutations)")
    st = sub.add_parser("steps", help="every step an invocation runs, as JSON (what tests/cli plays)")
    st.add_argument("name")
    st.add_argument("values", nargs="*", metavar="NAME=VALUE")
    st.add_argument("--job", action="store_true", help="NAME is a job")
    args = parser.parse_args()

    if args.action == "behaviour":
        if args.write_readme:
            write_readme_section(BEHAVIOUR_BEGIN, BEHAVIOUR_END, behaviour_table())
        count, problems = behaviour(args.deployer, path=args.records)
        for problem in problems:
            print(f"behaviour: {problem}", file=sys.stderr)
        print(f"behaviour: {count} old invocations compared, {len(problems)} differences not kept on purpose")
        return 1 if problems else 0

    if args.action == "steps":
        overrides = dict(v.split("=", 1) for v in args.values)
        print(json.dumps(run_steps(pack(), args.name, overrides, "jobs" if args.job else "commands"), indent=1))
        return 0

    if args.action == "env":
        overrides = dict(v.split("=", 1) for v in args.values)
        if args.job:
            found = job_step_environment(pack(), args.command, overrides)
        elif args.steps:
            found = job_step_environment(pack(), args.command, overrides, "commands")
        else:
            found = step_environment(pack(), args.command, overrides)
        print(json.dumps(found, indent=1))
        return 0

    if args.action == "migration":
        text = migration_table().rstrip("\n") + "\n"
        if args.write_readme:
            write_readme_section(MIGRATION_BEGIN, MIGRATION_END, text)
        else:
            sys.stdout.write(text)
        return 0

    if args.action == "accepts":
        tables = {name: json.load(open(os.path.join(VERSIONS, f"{name}.json"), encoding="utf-8"))
                  for name in ("aws-ecr", "aws-ecs")}
        spec = load(ALIAS_SPEC)
        pending = spec.get("pending") or {}
        exceptions = spec.get("type_exceptions") or {}
        orb = pack(aliases=load(args.aliases) or {}) if args.aliases else pack()
        count, problems, seen = accepts(orb, tables, pending, exceptions)
        for key, why in sorted(exceptions.items()):
            print(f"type differs: {key} ({why})", file=sys.stderr)
        for key in sorted(seen):
            print(f"not yet: {key} ({pending[key]})", file=sys.stderr)
        for key in sorted(set(pending) - seen):
            problems.append(f"orb/versions/aliases.yml: pending {key} is no name of the table")
        if problems:
            print(f"accepts: {len(problems)} problem(s)", file=sys.stderr)
            print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
            return 1
        print(f"accepts: ok ({count} names of {sum(len(t['versions']) for t in tables.values())} "
              f"versions; {len(seen)} pending)", file=sys.stderr)
        return 0

    if args.action == "generate":
        problems = Problems()
        orb_table.check_table(problems, structure_only=True)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        changed = [os.path.relpath(path, ROOT) for path, committed, text in orb_table.generate(not args.check)
                   if committed != text]
        for path in changed:
            print(f"{'differs' if args.check else 'wrote'}: {path}", file=sys.stderr)
        return 1 if args.check and changed else 0

    if args.action == "aliases":
        if args.write:
            with open(ALIASES, "w", encoding="utf-8") as f:
                f.write(aliases_text())
        else:
            sys.stdout.write(aliases_text())
        return 0

    if args.action == "pack":
        text = dump(pack())
        if args.out == "-":
            sys.stdout.write(text)
        else:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        return 0

    if args.action == "review":
        problems = Problems()
        check_yamllint(problems, os.path.abspath(args.src))
        check_review(problems, os.path.abspath(args.src))
        print("\n".join(f"  {p}" for p in problems) or "  ok", file=sys.stderr)
        return 1 if problems else 0

    reference = load(FIXTURE)
    if args.action == "coverage":
        rows = coverage(pack(), params_table(args.deployer), reference)
        print(coverage_report(rows))
        if args.write_readme:
            write_readme_coverage(coverage_table(rows))
        return 0

    problems = Problems()
    check_yaml_files(problems)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    check_yamllint(problems)
    check_review(problems)
    check_aliases(problems)
    orb_table.check_table(problems)
    orb = pack()
    table = params_table(args.deployer)
    check_pack_escapes(problems, orb)
    check_schema(problems, orb)
    check_params_declared_and_used(problems, orb)
    check_param_descriptions(problems, orb)
    check_steps_reach_flags(problems, orb, args.deployer, table)
    check_jobs_call_commands(problems, orb)
    check_commands_install_deployer(problems, orb)
    check_aws_orbs(problems, orb, reference)
    check_readme_table(problems, orb, reference)
    rows = coverage(orb, table, reference)
    check_coverage_readme(problems, coverage_table(rows))
    check_migration_readme(problems)
    compared = check_behaviour(problems, args.deployer)
    check_versions(problems, orb)
    print(coverage_report(rows), file=sys.stderr)
    if problems:
        print(f"orb check: {len(problems)} problem(s)", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    counts = {s: len(orb.get(s, {})) for s in SECTIONS}
    print(f"orb check: ok ({', '.join(f'{n} {s}' for s, n in counts.items())}; "
          f"{compared} old invocations behave as they did, or as behaviour.yml keeps on purpose)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
