//! `deployer register-task-definition`: a new revision of the family's latest revision or of a
//! file, with the container updates and tags applied, and the scheduled tasks (EventBridge rule
//! targets, EventBridge Scheduler schedules) that run the family pointed at it. No service is
//! touched. Rules and schedules are found and checked before anything is registered. With
//! `--existing-revision` nothing is registered: the scheduled tasks follow that revision.
use serde::Serialize;
use serde_json::Value;

use super::images::ImageCheck;
use super::update_service::{self, Plan};
use crate::adapters::aws::{self, AwsConfig, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::adapters::events::Events;
use crate::adapters::scheduler::Scheduler;
use crate::domain::ecr_image::changed_images;
use crate::domain::rollout::short_task_definition;
use crate::domain::scheduled_task::{
    describe_targets, retarget_rule_targets, schedule_update_input,
};
use crate::domain::task_definition_file::TaskDefinitionFile;
use crate::domain::update_spec::ContainerUpdate;
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

/// Everything register-task-definition needs, resolved by the CLI layer.
#[derive(Debug, Clone)]
pub struct RegisterSettings {
    pub aws: AwsSettings,
    pub family: String,
    /// The file to register instead of the family's latest revision.
    pub file: Option<TaskDefinitionFile>,
    /// `--existing-revision`: register nothing, point the scheduled tasks at this revision.
    pub existing: Option<String>,
    pub updates: Vec<ContainerUpdate>,
    pub tags: Vec<(String, String)>,
    pub scheduled: ScheduledTasks,
    pub dry_run: bool,
}

/// What happened, for stdout and `--export-env`.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterOutcome {
    pub task_definition_arn: String,
    pub family: String,
    /// `None` with `--dry-run`.
    pub revision: Option<u32>,
    /// The family's latest revision before this one, if it had one.
    pub previous_task_definition_arn: Option<String>,
    /// `rule RULE target ID` and `schedule GROUP/NAME` now running the new revision.
    pub scheduled_tasks: Vec<String>,
    /// `registered`, or `planned` with `--dry-run`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

impl RegisterOutcome {
    pub fn export_env(&self) -> Vec<(&'static str, String)> {
        vec![(
            "DEPLOYER_TASK_DEFINITION_ARN",
            self.task_definition_arn.clone(),
        )]
    }
}

pub async fn run(settings: RegisterSettings) -> Result<RegisterOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    if let Some(revision) = &settings.existing {
        return point_at_existing(&config, &ecs, &settings, revision).await;
    }
    let family = &settings.family;

    let latest = ecs.latest_task_definition(family).await?;
    let source = match (&settings.file, &latest) {
        (Some(file), _) => {
            show_file(file);
            file.as_described()
        }
        (None, Some(latest)) => latest.clone(),
        (None, None) => {
            return Err(Error::usage(format!(
                "task definition family {family} has no revision to start from"
            ))
            .with_hint(
                "check --family and the region, or pass --task-definition-file to register a first revision",
            ))
        }
    };
    let previous = latest.as_ref().and_then(|latest| {
        latest
            .pointer("/taskDefinition/taskDefinitionArn")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let registration =
        update_service::render(&source, &settings.updates, &settings.tags, latest.as_ref())?;
    ImageCheck::new(&config)
        .verify(&changed_images(
            latest.as_ref().unwrap_or(&Value::Null),
            &registration.register_task_definition_input,
        ))
        .await?;
    let scheduled = plan_scheduled(&config, family, &settings.scheduled).await?;

    let from = match (&settings.file, &previous) {
        (Some(file), _) => file.file.clone(),
        (None, Some(previous)) => short_task_definition(previous).to_string(),
        (None, None) => String::new(),
    };
    if settings.dry_run {
        output::step(format!(
            "dry run, nothing changed: would register a new revision of {family} from {from}{}",
            scheduled.describe()
        ));
        for change in &registration.changes {
            output::step(format!("  {change}"));
        }
        return Ok(RegisterOutcome {
            task_definition_arn: String::new(),
            family: family.clone(),
            revision: None,
            previous_task_definition_arn: previous,
            scheduled_tasks: scheduled.names(),
            result: "planned".to_string(),
            plan: Some(registration),
        });
    }

    output::step(format!(
        "registering a new revision of {family} from {from} ({})",
        if registration.changes.is_empty() {
            "no changes".to_string()
        } else {
            registration.changes.join("; ")
        }
    ));
    let arn = ecs
        .register_task_definition(&registration.register_task_definition_input)
        .await?;
    journal::record(format!("registered {arn}"));
    output::step(format!("registered {}", short_task_definition(&arn)));
    let scheduled_tasks = apply_scheduled(&config, scheduled, &arn).await?;
    Ok(RegisterOutcome {
        revision: arn.rsplit(':').next().and_then(|r| r.parse().ok()),
        task_definition_arn: arn,
        family: family.clone(),
        previous_task_definition_arn: previous,
        scheduled_tasks,
        result: "registered".to_string(),
        plan: None,
    })
}

/// `--existing-revision`: the scheduled tasks follow a revision that is already registered (the
/// aws-ecs orb's `deploy_ecs_scheduled_task` after `update_task_definition`); nothing is registered.
async fn point_at_existing(
    config: &AwsConfig,
    ecs: &Ecs,
    settings: &RegisterSettings,
    revision: &str,
) -> Result<RegisterOutcome> {
    if revision.is_empty() {
        return Err(Error::usage("--existing-revision is empty")
            .with_hint("name the revision as FAMILY:REVISION or its ARN"));
    }
    let described = ecs.describe_task_definition(revision).await?;
    let definition = &described["taskDefinition"];
    let arn = definition["taskDefinitionArn"]
        .as_str()
        .unwrap_or(revision)
        .to_string();
    let family = definition["family"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !settings.family.is_empty() && settings.family != family {
        return Err(Error::usage(format!(
            "--family {} and --existing-revision {revision} (family {family}) disagree",
            settings.family
        ))
        .with_hint("leave out --family: the revision's family is used"));
    }
    let scheduled = plan_scheduled(config, &family, &settings.scheduled).await?;
    let short = short_task_definition(&arn).to_string();
    let previous = None;
    if settings.dry_run {
        output::step(format!(
            "dry run, nothing changed: would point {} at {short}",
            scheduled.names().join(", ")
        ));
        return Ok(RegisterOutcome {
            task_definition_arn: arn,
            family,
            revision: None,
            previous_task_definition_arn: previous,
            scheduled_tasks: scheduled.names(),
            result: "planned".to_string(),
            plan: None,
        });
    }
    output::step(format!(
        "registering nothing: {short} is already registered"
    ));
    let scheduled_tasks = apply_scheduled(config, scheduled, &arn).await?;
    Ok(RegisterOutcome {
        revision: arn.rsplit(':').next().and_then(|r| r.parse().ok()),
        task_definition_arn: arn,
        family,
        previous_task_definition_arn: previous,
        scheduled_tasks,
        result: "existing".to_string(),
        plan: None,
    })
}

/// Says which file is registered, and what of it RegisterTaskDefinition does not take.
pub fn show_file(file: &TaskDefinitionFile) {
    if file.dropped.is_empty() {
        output::step(format!("read task definition file {}", file.file));
    } else {
        output::step(format!(
            "read task definition file {}; left out what RegisterTaskDefinition does not take: {}",
            file.file,
            file.dropped.join(", ")
        ));
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

    fn names(&self) -> Vec<String> {
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
