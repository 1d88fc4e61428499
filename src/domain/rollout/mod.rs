//! Decides whether the ECS rolling deployment deployer started is done, failed or still going, and
//! what to print while it goes: the judgement the AWS waiter cannot make.
//!
//! - [`snapshot`]: the service, deployments, events and tasks as DescribeServices/DescribeTasks
//!   show them, and the [`Target`] a wait looks for;
//! - [`verdict`]: what one snapshot says about our deployment ([`assess`]);
//! - [`readiness`]: `--wait-until running`: our tasks running, healthy, and healthy targets;
//! - [`log`]: what to print while waiting;
//! - [`arn`]: task definitions as ARNs and `family:revision` name them.
//!
//! Pure: imported by the commands that wait, roll back or report a service; imports only other
//! domain modules. Its items are re-exported here, so callers name them `rollout::…`.
pub mod arn;
#[cfg(test)]
mod fixtures;
pub mod log;
pub mod readiness;
pub mod snapshot;
pub mod verdict;

pub use arn::{
    check_task_definition_reference, family_of, same_task_definition, short_task_definition,
};
pub use log::{describe_stopped_tasks, RolloutLog};
pub use readiness::{ours, targets_ready, tasks_ready};
pub use snapshot::{
    Deployment, LoadBalancer, RunningTask, ServiceEvent, ServiceSnapshot, StoppedContainer,
    StoppedTask, Target, TargetHealth, WaitUntil,
};
pub use verdict::{
    assess, assess_within_grace, early_success_of, is_placement_failure, placement_failure,
    Failure, Verdict,
};
