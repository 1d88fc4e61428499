//! The plan as `--dry-run` and `deployer diff` show it: what would be registered and updated,
//! and the unified diff of what would change.
use super::configuration::planned_configuration;
use super::types::{ServicePlan, UpdateServiceOutcome, UpdateServiceSettings};
use serde_json::Value;

use crate::adapters::ecs::Ecs;
use crate::commands::steps::registration::Plan;
use crate::domain::deploy_diff::{service_settings, unified};
use crate::domain::rollout::short_task_definition;
use crate::domain::task_definition::register_input;
use crate::error::Result;
use crate::output;

/// Where the new revision comes from, for the log: the file, or the latest revision.
pub(super) fn base_name(settings: &UpdateServiceSettings, plan: &ServicePlan) -> String {
    match &settings.file {
        Some(file) => file.file.clone(),
        None => short_task_definition(&plan.base_arn).to_string(),
    }
}

/// The unified diff of what `plan` would change: the task definition, then the service's
/// settings.
pub async fn diff(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    plan: &ServicePlan,
) -> Result<String> {
    let running_arn = plan
        .state
        .as_ref()
        .map(|state| state.snapshot.task_definition.clone())
        .unwrap_or_default();
    // The revision the service runs: the plan described the family's latest, often the same.
    let running = if running_arn.is_empty() {
        Value::Null
    } else if plan.base_arn == running_arn && plan.latest.is_some() {
        register_input(plan.latest.as_ref().unwrap_or(&Value::Null)).unwrap_or(Value::Null)
    } else {
        register_input(&ecs.describe_task_definition(&running_arn).await?).unwrap_or(Value::Null)
    };
    let (planned, to) = match (&plan.express, &plan.registration) {
        (Some(express), _) => (
            super::express::expected(plan, express),
            format!("{} (ECS registers it)", settings.service),
        ),
        (None, Some(registration)) => (
            registration.register_task_definition_input.clone(),
            format!("{} (planned)", settings.family),
        ),
        (None, None) => (
            register_input(&plan.described).unwrap_or(Value::Null),
            format!("{} (as it is)", short_task_definition(&plan.base_arn)),
        ),
    };
    let from = if running_arn.is_empty() {
        format!("{} (no service yet)", settings.service)
    } else {
        format!("{} (running)", short_task_definition(&running_arn))
    };
    let mut text = unified(&running, &planned, &from, &to);
    if let Some(state) = &plan.state {
        if plan.codedeploy.is_none() && plan.express.is_none() {
            let configuration = state.deployment_configuration();
            let desired = state.raw.get("desiredCount").and_then(Value::as_i64);
            let before = service_settings(desired, configuration);
            let after = service_settings(
                settings.desired_count.map(i64::from).or(desired),
                planned_configuration(settings, state)?
                    .as_ref()
                    .or(configuration),
            );
            text.push_str(&unified(
                &before,
                &after,
                &format!("{} (now)", settings.service),
                &format!("{} (planned)", settings.service),
            ));
        }
    }
    Ok(text)
}

/// `--dry-run`: what would change, as `deployer diff` shows it, on stderr under the plan.
pub async fn show_diff(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    plan: &ServicePlan,
) -> Result<()> {
    let text = diff(ecs, settings, plan).await?;
    if text.is_empty() {
        output::step("dry run: nothing would change (deployer diff exits 0)");
        return Ok(());
    }
    output::step("dry run: what would change (deployer diff shows the same):");
    for line in text.lines() {
        output::stderr_line(&format!("  {line}"));
    }
    Ok(())
}

/// Shows the plan on stderr and returns it as the outcome of `--dry-run`; nothing changes.
pub fn planned(settings: &UpdateServiceSettings, plan: &ServicePlan) -> UpdateServiceOutcome {
    if let Some(express) = &plan.express {
        return super::express::planned(settings, plan, express);
    }
    let what = match &plan.registration {
        Some(_) => format!(
            "register a new revision of {} from {}",
            settings.family,
            base_name(settings, plan)
        ),
        None => format!("deploy {} as it is", short_task_definition(&plan.base_arn)),
    };
    let current = plan.state.as_ref().map_or(String::new(), |state| {
        state.snapshot.task_definition.clone()
    });
    match &plan.state {
        Some(_) => output::step(format!(
            "dry run, nothing changed: would {what}, then update {} (now on {}){}",
            settings.service,
            short_task_definition(&current),
            plan.scheduled.describe()
        )),
        None => output::step(format!(
            "dry run, nothing changed: would {what}, then create {} in cluster {}{}",
            settings.service,
            settings.cluster,
            plan.scheduled.describe()
        )),
    }
    let registration = plan.registration.clone().unwrap_or(Plan {
        register_task_definition_input: Value::Null,
        changes: Vec::new(),
    });
    for change in &registration.changes {
        output::step(format!("  {change}"));
    }
    let codedeploy_appspec = plan.codedeploy.as_ref().map(|codedeploy| {
        let arn = match &plan.registration {
            Some(_) => next_revision_arn(&plan.base_arn, &settings.family),
            None => plan.base_arn.clone(),
        };
        let appspec = codedeploy.appspec(&arn);
        output::step(format!(
            "  then CodeDeploy deployment through {} / {} with the AppSpec {appspec}",
            codedeploy.application, codedeploy.deployment_group
        ));
        serde_json::from_str(&appspec).unwrap_or(Value::String(appspec))
    });
    UpdateServiceOutcome {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        task_definition_arn: String::new(),
        previous_task_definition_arn: current,
        registered: false,
        deployment_id: None,
        result: "planned".to_string(),
        service_deployment_arn: None,
        hook_id: None,
        plan: Some(registration),
        codedeploy_deployment_id: None,
        codedeploy_appspec,
        express_update: None,
    }
}

/// The ARN the revision registered after `latest_arn` will have (`FAMILY:1` with none).
fn next_revision_arn(latest_arn: &str, family: &str) -> String {
    match latest_arn.rsplit_once(':') {
        Some((prefix, number)) => match number.parse::<u64>() {
            Ok(number) => format!("{prefix}:{}", number + 1),
            Err(_) => format!("{family}:1"),
        },
        None => format!("{family}:1"),
    }
}
