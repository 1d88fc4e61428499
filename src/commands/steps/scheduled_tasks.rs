//! The scheduled tasks that follow a new revision, shared by register-task-definition and
//! update-service: EventBridge rule targets and EventBridge Scheduler schedules, found and
//! checked to run the family before anything is registered, then pointed at the revision.
use serde_json::Value;

use crate::adapters::aws::AwsConfig;
use crate::adapters::events::Events;
use crate::adapters::scheduler::Scheduler;
use crate::domain::rollout::short_task_definition;
use crate::domain::scheduled_task::{
    describe_targets, retarget_rule_targets, schedule_update_input,
};
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

/// The scheduled tasks to point at the new revision.
#[derive(Debug, Clone, Default)]
pub struct ScheduledTasks {
    /// EventBridge rules on the default event bus.
    pub rules: Vec<String>,
    /// EventBridge Scheduler schedules, all in `group`.
    pub schedules: Vec<String>,
    pub group: String,
}

impl ScheduledTasks {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.schedules.is_empty()
    }
}

/// The scheduled tasks as they are now, each checked to run the family.
#[derive(Debug, Clone, Default)]
pub struct ScheduledPlan {
    /// Each rule with every one of its targets, as ListTargetsByRule answered them.
    rules: Vec<(String, Vec<Value>)>,
    /// Each schedule as GetSchedule answered it.
    schedules: Vec<(String, Value)>,
    group: String,
    family: String,
}

impl ScheduledPlan {
    /// What will follow the new revision, for the plan's line (empty when nothing).
    pub fn describe(&self) -> String {
        let names = self.names();
        if names.is_empty() {
            String::new()
        } else {
            format!(", and point {} at it", names.join(", "))
        }
    }

    /// Each rule target and schedule that will follow, as the log and the outcome name them.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (rule, targets) in &self.rules {
            for target in retarget_rule_targets(targets, &self.family, "") {
                names.push(format!(
                    "rule {rule} target {}",
                    target["Id"].as_str().unwrap_or("?")
                ));
            }
        }
        for (name, _) in &self.schedules {
            names.push(format!("schedule {}/{name}", self.group));
        }
        names
    }
}

/// Finds every rule and schedule and checks that each runs a task of `family`, before anything
/// is registered: a missing rule or schedule, or one of another family, is exit 2.
pub async fn plan_scheduled(
    config: &AwsConfig,
    family: &str,
    scheduled: &ScheduledTasks,
) -> Result<ScheduledPlan> {
    let mut plan = ScheduledPlan {
        group: scheduled.group.clone(),
        family: family.to_string(),
        ..ScheduledPlan::default()
    };
    if !scheduled.rules.is_empty() {
        let events = Events::new(config);
        for rule in &scheduled.rules {
            let targets = events.rule_targets(rule).await?.ok_or_else(|| {
                Error::usage(format!(
                    "--update-scheduled-task {rule}: there is no EventBridge rule {rule} on the default event bus"
                ))
                .with_hint("check the rule's name and the region; nothing was registered")
            })?;
            if retarget_rule_targets(&targets, family, "").is_empty() {
                return Err(Error::usage(format!(
                    "--update-scheduled-task {rule}: no target of rule {rule} runs a task of {family} ({})",
                    describe_targets(&targets)
                ))
                .with_hint("nothing was registered; name a rule that schedules this family"));
            }
            plan.rules.push((rule.clone(), targets));
        }
    }
    if !scheduled.schedules.is_empty() {
        let scheduler = Scheduler::new(config);
        for name in &scheduled.schedules {
            let schedule = scheduler
                .schedule(name, &scheduled.group)
                .await?
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--update-schedule {name}: there is no schedule {name} in schedule group {}",
                        scheduled.group
                    ))
                    .with_hint("check the name, --schedule-group and the region; nothing was registered")
                })?;
            schedule_update_input(&schedule, family, "").map_err(|mismatch| {
                Error::usage(format!(
                    "--update-schedule {name}: schedule {}/{name} cannot follow {family}: {mismatch}",
                    scheduled.group
                ))
                .with_hint("nothing was registered; name a schedule that runs this family")
            })?;
            plan.schedules.push((name.clone(), schedule));
        }
    }
    Ok(plan)
}

/// Points every planned target and schedule at `arn`, each recorded as it is done.
pub async fn apply_scheduled(
    config: &AwsConfig,
    plan: ScheduledPlan,
    arn: &str,
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let short = short_task_definition(arn);
    if !plan.rules.is_empty() {
        let events = Events::new(config);
        for (rule, targets) in &plan.rules {
            let targets = retarget_rule_targets(targets, &plan.family, arn);
            events.put_targets(rule, &targets).await?;
            for target in &targets {
                let name = format!(
                    "rule {rule} target {}",
                    target["Id"].as_str().unwrap_or("?")
                );
                journal::record(format!("pointed {name} at {short}"));
                output::step(format!("{name} now runs {short}"));
                done.push(name);
            }
        }
    }
    if !plan.schedules.is_empty() {
        let scheduler = Scheduler::new(config);
        for (name, schedule) in &plan.schedules {
            let input = schedule_update_input(schedule, &plan.family, arn)
                .map_err(|e| Error::usage(format!("schedule {name}: {e}")))?;
            scheduler.update_schedule(name, &input).await?;
            let name = format!("schedule {}/{name}", plan.group);
            journal::record(format!("pointed {name} at {short}"));
            output::step(format!("{name} now runs {short}"));
            done.push(name);
        }
    }
    Ok(done)
}
