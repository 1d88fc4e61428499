//! DescribeServices answers recorded from real rollouts (`tests/fixtures/rollout/`) and the
//! target a test waits for: shared by the rollout modules' tests.
use super::snapshot::{ServiceSnapshot, Target, WaitUntil};

pub(crate) const OURS: &str = "ecs-svc/2222222222222222222";

pub(crate) const NEW: &str =
    "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2";

pub(crate) const SLOW_BEFORE: &str =
    include_str!("../../../tests/fixtures/rollout/slow-0-before.json");

pub(crate) const SLOW_STARTED: &str =
    include_str!("../../../tests/fixtures/rollout/slow-1-started.json");

pub(crate) const SLOW_HALF_RUNNING: &str =
    include_str!("../../../tests/fixtures/rollout/slow-2-half-running.json");

pub(crate) const SLOW_OLD_DRAINING: &str =
    include_str!("../../../tests/fixtures/rollout/slow-3-old-draining.json");

pub(crate) const SLOW_COMPLETED: &str =
    include_str!("../../../tests/fixtures/rollout/slow-4-completed.json");

pub(crate) const IN_PROGRESS: &str =
    include_str!("../../../tests/fixtures/rollout/in-progress.json");

pub(crate) const COMPLETED_ALONE: &str =
    include_str!("../../../tests/fixtures/rollout/completed.json");

pub(crate) const ROLLED_BACK: &str =
    include_str!("../../../tests/fixtures/rollout/rolled-back.json");

pub(crate) const FAILED_NO_ROLLBACK: &str =
    include_str!("../../../tests/fixtures/rollout/failed-no-rollback.json");

pub(crate) const SUPERSEDED: &str = include_str!("../../../tests/fixtures/rollout/superseded.json");

pub(crate) const INACTIVE: &str = include_str!("../../../tests/fixtures/rollout/inactive.json");

pub(crate) const NO_ROLLOUT_STATE: &str =
    include_str!("../../../tests/fixtures/rollout/no-rollout-state.json");

pub(crate) const NO_ROLLOUT_STATE_ALONE: &str =
    include_str!("../../../tests/fixtures/rollout/no-rollout-state-alone.json");

pub(crate) const PLACEMENT_FAILURE: &str =
    include_str!("../../../tests/fixtures/rollout/placement-failure.json");

pub(crate) const STOPPED_TASKS: &str =
    include_str!("../../../tests/fixtures/rollout/stopped-tasks.json");

/// `services[0]` of an `aws ecs describe-services` answer.
pub(crate) fn service(describe_services: &str) -> ServiceSnapshot {
    let answer: serde_json::Value = serde_json::from_str(describe_services).unwrap();
    serde_json::from_value(answer["services"][0].clone()).unwrap()
}

pub(crate) fn target(wait_until: WaitUntil) -> Target {
    Target {
        early_success: None,
        deployment_id: OURS.into(),
        task_definition_arn: NEW.into(),
        wait_until,
        created_at: Some("2026-11-24T10:00:00.000000+00:00".into()),
    }
}
