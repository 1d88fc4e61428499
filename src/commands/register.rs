//! `deployer register-task-definition`: a new revision of the family's latest revision or of a
//! file, with the container updates and tags applied, and the scheduled tasks (EventBridge rule
//! targets, EventBridge Scheduler schedules) that run the family pointed at it. No service is
//! touched. Rules and schedules are found and checked before anything is registered. With
//! `--existing-revision` nothing is registered: the scheduled tasks follow that revision.
use serde::Serialize;
use serde_json::Value;

use super::steps::image_check::ImageCheck;
use super::steps::registration::{self, Plan};
use super::steps::scheduled_tasks::{apply_scheduled, plan_scheduled, ScheduledTasks};
use crate::adapters::aws::{self, AwsConfig, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::domain::ecr_image::changed_images;
use crate::domain::rollout::short_task_definition;
use crate::domain::task_definition_file::TaskDefinitionFile;
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, Result};
use crate::output;

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
            registration::show_file(file);
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
        registration::render(&source, &settings.updates, &settings.tags, latest.as_ref())?;
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

    let arn = registration::register(&ecs, family, &from, &registration).await?;
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
