//! `deployer rollback`: re-deploy the revision the service ran before its latest deployment
//! (found in the service's deployments and deployment history, not by guessing `revision - 1`,
//! which may never have run), or `--to-revision N`, with the same wait as update-service.
use serde_json::Value;

use super::steps::image_check::ImageCheck;
use super::steps::rollout_wait::WaitSettings;
use super::steps::service::named_service;
use super::steps::service_deployment::newest_first;
use super::update_service::{self, roll, UpdateServiceOutcome, UpdateServiceSettings};
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecs::{Ecs, ServiceState};
use crate::domain::express::{is_express, primary_container_name};
use crate::domain::rollout::{family_of, same_task_definition, short_task_definition, WaitUntil};
use crate::domain::update_spec::{ContainerUpdate, ImageChange};
use crate::error::{Error, ErrorKind, Result};
use crate::output;

#[derive(Debug, Clone)]
pub struct RollbackSettings {
    pub aws: AwsSettings,
    pub cluster: String,
    pub service: String,
    /// `--to-revision`: N, FAMILY:N or a task-definition ARN, of the service's family.
    pub to_revision: Option<String>,
    pub wait: Option<(WaitSettings, WaitUntil)>,
}

/// How many deployments of the history deployer looks through.
const HISTORY_DEPTH: usize = 10;

pub async fn run(settings: RollbackSettings) -> Result<UpdateServiceOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let state = named_service(&ecs, &settings.cluster, &settings.service, "roll back").await?;
    let current = state.snapshot.task_definition.clone();
    let target = match &settings.to_revision {
        Some(wanted) => {
            let revision = revision_of_family(wanted, family_of(&current), &settings.service)?;
            let described = ecs
                .describe_task_definition(&revision)
                .await
                .map_err(|error| match error.kind {
                    ErrorKind::Usage => error.with_hint(format!(
                        "check --to-revision: it must name a registered revision of {}",
                        family_of(&current)
                    )),
                    _ => error,
                })?;
            described
                .pointer("/taskDefinition/taskDefinitionArn")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::environment(format!("ECS described {revision} without an ARN"))
                })?
        }
        None => previous_revision(&ecs, &settings, &state).await?,
    };
    if same_task_definition(&target, &current) {
        // Nothing to roll back to: an UpdateService to the same revision starts no deployment
        // worth waiting for.
        output::step(format!(
            "{} already runs {}: nothing to roll back",
            settings.service,
            short_task_definition(&current)
        ));
        return Ok(already_running(&settings, &current));
    }
    output::step(format!(
        "rolling {} back from {} to {}",
        settings.service,
        short_task_definition(&current),
        short_task_definition(&target)
    ));
    let update = UpdateServiceSettings {
        aws: settings.aws.clone(),
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        family: family_of(&target).to_string(),
        file: None,
        updates: Vec::new(),
        tags: Vec::new(),
        skip_registration: true,
        force_new_deployment: false,
        desired_count: None,
        enable_circuit_breaker: false,
        strategy: Default::default(),
        create: None,
        wait: settings.wait.clone(),
        dry_run: false,
        scheduled: Default::default(),
        codedeploy: Default::default(),
        allow_family_change: false,
        smoke_test: None,
        keep_revisions: None,
        verify: false,
    };
    if is_express(&state.raw) {
        return roll_express_back(&ecs, &config, update, &target).await;
    }
    roll(&ecs, &update, &state, &target, false).await
}

/// An Express service goes back through UpdateExpressGatewayService: the primary container of
/// the revision it runs, with the image of the target revision's (ECS registers a new revision
/// of it; UpdateService would leave Express Mode's configuration behind).
async fn roll_express_back(
    ecs: &Ecs,
    config: &aws::AwsConfig,
    mut update: UpdateServiceSettings,
    target: &str,
) -> Result<UpdateServiceOutcome> {
    let described = ecs.describe_task_definition(target).await?;
    let container = primary_container_name(&described, "").ok_or_else(|| {
        Error::environment(format!(
            "{} has no container named Main nor a single container: deployer cannot tell the Express service's primary container in it",
            short_task_definition(target)
        ))
        .with_hint("roll back with aws ecs update-express-gateway-service and the image to go back to")
    })?;
    let image = described["taskDefinition"]["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == container.as_str())
        .and_then(|c| c["image"].as_str())
        .unwrap_or_default()
        .to_string();
    update.skip_registration = false;
    update.updates = vec![ContainerUpdate::Image {
        container,
        change: ImageChange::Replace(image),
    }];
    let plan =
        update_service::plan(ecs, &ImageCheck::new(config), &update, |_| Ok(Vec::new())).await?;
    update_service::apply(ecs, &update, plan).await
}

/// The outcome when the service already runs the revision asked for: nothing was changed.
fn already_running(settings: &RollbackSettings, current: &str) -> UpdateServiceOutcome {
    UpdateServiceOutcome {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        task_definition_arn: current.to_string(),
        previous_task_definition_arn: current.to_string(),
        registered: false,
        deployment_id: None,
        result: "unchanged".to_string(),
        service_deployment_arn: None,
        hook_id: None,
        plan: None,
        codedeploy_deployment_id: None,
        codedeploy_appspec: None,
        express_update: None,
    }
}

/// `--to-revision` as the revision to describe: `N` and `FAMILY:N` of the service's family, or
/// a task-definition ARN of it. Another family is refused: a rollback goes back in the
/// service's own history.
pub fn revision_of_family(wanted: &str, family: &str, service: &str) -> Result<String> {
    let wanted = wanted.trim();
    let form = || {
        Error::usage(format!(
            "--to-revision {wanted:?} is not a revision: give N, {family}:N or the revision's ARN"
        ))
    };
    if !wanted.is_empty() && wanted.chars().all(|c| c.is_ascii_digit()) {
        return match wanted.parse::<u32>() {
            Ok(revision) if revision > 0 => Ok(format!("{family}:{revision}")),
            _ => Err(form()),
        };
    }
    let short = short_task_definition(wanted);
    let Some((named, revision)) = short.rsplit_once(':') else {
        return Err(form());
    };
    if revision.is_empty() || !revision.chars().all(|c| c.is_ascii_digit()) {
        return Err(form());
    }
    if named != family {
        return Err(Error::usage(format!(
            "--to-revision {wanted}: service {service} runs the family {family}, not {named}"
        ))
        .with_hint(format!(
            "a rollback goes back to an earlier revision of {family}: give N or {family}:N"
        )));
    }
    Ok(wanted.to_string())
}

async fn previous_revision(
    ecs: &Ecs,
    settings: &RollbackSettings,
    state: &ServiceState,
) -> Result<String> {
    let current = &state.snapshot.task_definition;
    // A deployment still in progress: the old deployment is what ran before it.
    if let Some(older) = state.snapshot.deployments.iter().find(|deployment| {
        deployment.status == "ACTIVE" && !same_task_definition(&deployment.task_definition, current)
    }) {
        return Ok(older.task_definition.clone());
    }
    let unknown = |why: String| {
        Error::environment(format!(
            "cannot tell which revision {} ran before its latest deployment: {why}",
            settings.service
        ))
        .with_hint("pass --to-revision N to name the revision of the family to go back to")
    };
    let mut history = ecs
        .deployment_history(&settings.cluster, &settings.service, &["SUCCESSFUL"])
        .await
        .map_err(|error| unknown(error.message.clone()))?;
    newest_first(&mut history);
    for deployment in history.iter().take(HISTORY_DEPTH) {
        let Some(revision) = &deployment.target_revision_arn else {
            continue;
        };
        let Some(task_definition) = ecs.revision_task_definition(revision).await? else {
            continue;
        };
        if !same_task_definition(&task_definition, current) && deployment.status == "SUCCESSFUL" {
            return Ok(task_definition);
        }
    }
    Err(unknown(format!(
        "none of its last {} successful deployments ran a revision other than {}",
        history.len().min(HISTORY_DEPTH),
        short_task_definition(current)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_revision_takes_a_number_family_revision_or_arn_of_the_service_family() {
        let family = "tutorial-site-task";
        let of = |wanted: &str| revision_of_family(wanted, family, "tutorial-site-service");
        assert_eq!(of("1").unwrap(), "tutorial-site-task:1");
        assert_eq!(of("tutorial-site-task:1").unwrap(), "tutorial-site-task:1");
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:3";
        assert_eq!(of(arn).unwrap(), arn);
        for bad in [
            "",
            "0",
            "latest",
            "tutorial-site-task",
            "tutorial-site-task:",
            "1.5",
        ] {
            let error = of(bad).unwrap_err();
            assert!(
                error.message.contains("give N, tutorial-site-task:N"),
                "{bad}: {error}"
            );
        }
        let other = of("tutorial-site-migrate:2").unwrap_err();
        assert_eq!(other.kind, crate::error::ErrorKind::Usage);
        assert!(
            other
                .message
                .contains("runs the family tutorial-site-task, not tutorial-site-migrate"),
            "{other}"
        );
    }
}
