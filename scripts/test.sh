#!/usr/bin/env bash
# Runs every test: installs what the tests need (Docker engine, registry, moto) if missing,
# starts the local stack, runs `cargo test`, and stops the stack whatever happens.
# Extra arguments go to `cargo test`, e.g. ./scripts/test.sh --test cli push::
# ./scripts/test.sh --quick: the inner loop, about 2 minutes: the unit tests, and the CLI tests
# that need only moto (QUICK below) against moto alone. The full run is what CI runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The CLI tests that need moto and nothing else (no Docker engine, registry or emulator), as
# `cargo test` filters: a whole module (`register::`) or one test. Under --quick only moto runs,
# so one of these that reaches for more fails rather than passing unseen. A filter matches every
# test whose path contains it (`register::` would match a `deregister::` module: hence
# `deregistration::`).
QUICK=(
  register:: update_service:: wait:: diff::
  verify::everything_the_revision_needs_exists_is_exit_0_one_ok_line_per_check
  verify::what_is_missing_or_invalid_is_exit_1_with_a_line_each
  verify::verify_checks_a_family_s_latest_revision_with_the_updates_it_would_get
  verify::update_service_refuses_a_revision_that_cannot_start_and_changes_nothing
  release::moto_a_release_registers_and_updates_every_service
  release::the_orbs_service_names_become_services_and_family_may_be_empty
  failure_logs::moto_a_stopped_migrations_last_lines_are_read_from_cloudwatch_logs
  failure_logs::a_bad_failure_log_lines_is_exit_2_before_anything_is_called
  codedeploy::a_code_deploy_service_without_its_application_and_group_is_refused_naming_them
  codedeploy::a_deployment_group_of_another_service_or_none_at_all_is_refused_before_anything_is_registered
  codedeploy::codedeploy_flags_on_a_service_ecs_deploys_are_refused
  codedeploy::the_dry_run_prints_the_appspec_and_changes_nothing
  codedeploy::no_wait_registers_the_revision_and_creates_the_deployment_with_the_orbs_appspec
  deploy::rollback_to_a_named_revision_and_a_clear_error_without_history
  ecr_commands::tag_image_promotes_a_commit_tag_without_pulling_and_is_idempotent
  ecr_commands::tag_image_refuses_a_missing_source_or_repository_with_nothing_changed
  ecr_commands::tag_image_refuses_to_move_an_immutable_tag_before_tagging_anything
  ecr_commands::tag_image_skip_when_tags_exist_leaves_existing_tags_and_dry_run_changes_nothing
  ecr_commands::repo_create_policy_and_tag_leave_their_state_in_ecr
  mistakes::a_profile_that_does_not_exist_is_refused_before_any_call_even_with_environment_keys
  mistakes::rolling_a_service_onto_another_family_needs_allow_family_change
  mistakes::an_output_file_that_cannot_be_written_is_refused_before_anything_changes
  mistakes::rolling_back_to_the_revision_running_says_so_and_does_not_wait
  mistakes::to_revision_takes_family_revision_and_refuses_another_family
  mistakes::desired_count_says_its_real_bounds
  mistakes::hints_name_only_the_commands_own_flags
  mistakes::durations_have_one_grammar_with_the_same_refusals_everywhere
  mistakes::siblings_found_on_the_way_are_refused_before_anything_changes
  orb::the_orb_packs_and_passes_its_checks
  orb::boolean_parameters_reach_the_step_as_1_or_0
  orb::parameters_deployer_cannot_honour_fail_the_step_before_anything_changes
  orb::the_update_service_step_rolls_the_service_on_moto_like_the_aws_ecs_orb
  orb::install_uses_the_executors_deployer_and_says_when_it_cannot_download
  orb::the_task_definition_steps_register_and_the_scheduled_rule_follows_on_moto
  orb::the_aws_ecr_orbs_repository_commands_leave_their_state_in_ecr
  orb::credentials_come_from_the_variables_the_old_parameters_name_on_moto
  orb::every_name_of_every_aws_orb_version_is_accepted_by_the_packed_orb
  orb::aws_ecs_snake_jobs_and_kebab_commands_roll_the_service_on_moto
  plan::a_code_deploy_service_without_its_codedeploy_flags_is_refused_before_anything_is_registered
  plan::a_tag_missing_from_ecr_is_refused_before_registration_and_one_that_exists_goes_through
  plan::an_unreachable_endpoint_is_named_in_words_without_sdk_dumps
  replays::a_recording_holds_every_call_and_no_secret
  run_task::moto_accepts_the_run_task_request_with_every_setting
  run_task::moto_a_missing_task_definition_is_exit_2_with_nothing_started
  run_task::moto_a_task_definition_file_is_registered_then_run_and_a_bad_one_changes_nothing
  switching::the_aws_cli_is_installed_when_the_image_lacks_it
)

quick=false
if [ "${1:-}" = --quick ]; then
  quick=true
  shift
fi

command -v cargo >/dev/null || { echo "test.sh: cargo is missing: install Rust (rustup) first" >&2; exit 2; }
./scripts/stack.sh install
trap './scripts/stack.sh stop' EXIT
if $quick; then
  ./scripts/stack.sh start-moto
else
  # The emulator binary the stack starts comes from this checkout.
  cargo build --locked --quiet -p deployer-emulator
  ./scripts/stack.sh start
fi
set -a
# shellcheck disable=SC1091
source "${DEPLOYER_STACK_DIR:-.stack}/env"
set +a
# The CLI tests mostly wait (for containers, the emulator's bake times, moto), not compute: six
# at once on two cores cut the suite's wall time by 40% (590 s to 353 s). Each test keeps to
# names of its own; a build-cache prune waits until no test's command runs (tests/cli/support.rs).
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-6}
if $quick; then
  cargo test --locked --workspace --lib --bins "$@"
  # A filter that matches no test (one renamed or moved) would drop it silently: refuse.
  listed=$(cargo test --locked --quiet --test cli "$@" -- --list --format terse 2>/dev/null)
  for filter in "${QUICK[@]}"; do
    grep -q -F -- "$filter" <<<"$listed" ||
      { echo "test.sh: --quick names $filter, which matches no CLI test: update QUICK" >&2; exit 2; }
  done
  cargo test --locked --test cli "$@" -- "${QUICK[@]}"
else
  cargo test --locked --workspace "$@"
fi
