//! `deployer rollback`: re-deploy the revision the service ran before its latest deployment
//! (found in the service's deployments and deployment history, not by guessing `revision - 1`,
//! which may never have run), or `--to-revision N`, with the same wait as update-service.
use serde_json::Value;

use super::update_service::{existing_service, roll, UpdateServiceOutcome, UpdateServiceSettings};
use super::wait::WaitSettings;
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecs::{Ecs, HistoricDeployment, ServiceState};
use crate::domain::rollout::{
    family_of, parse_timestamp, same_task_definition, short_task_definition, WaitUntil,
};
use crate::error::{Error, Result};
use crate::output;

#[derive(Debug, Clone)]
pub struct RollbackSettings {
    pub aws: AwsSettings,
    pub cluster: String,
    pub service: String,
    pub to_revision: Option<u32>,
    pub wait: Option<(WaitSettings, WaitUntil)>,
}

/// How many deployments of the history deployer looks through.
const HISTORY_DEPTH: usize = 10;

pub async fn run(settings: RollbackSettings) -> Result<UpdateServiceOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let state = existing_service(&ecs, &settings.cluster, &settings.service).await?;
    let current = state.snapshot.task_definition.clone();
    let target = match settings.to_revision {
        Some(revision) => {
            let family = family_of(&current);
            let described = ecs
                .describe_task_definition(&format!("{family}:{revision}"))
                .await?;
            described
                .pointer("/taskDefinition/taskDefinitionArn")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::environment(format!("ECS described {family}:{revision} without an ARN"))
                })?
        }
        None => previous_revision(&ecs, &settings, &state).await?,
    };
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
    };
    roll(&ecs, &update, &state, &target, false).await
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

/// Sorts deployments newest first by `createdAt` (the API does not promise an order); those
/// without a readable time go last, in the order ECS gave them.
pub(crate) fn newest_first(history: &mut [HistoricDeployment]) {
    history.sort_by_key(|deployment| {
        std::cmp::Reverse(deployment.created_at.as_deref().and_then(parse_timestamp))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_ordered_by_creation_time_whatever_order_ecs_answers() {
        let deployment = |revision: &str, created_at: Option<&str>| HistoricDeployment {
            arn: format!("arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/s/{revision}"),
            status: "SUCCESSFUL".into(),
            target_revision_arn: Some(revision.into()),
            created_at: created_at.map(str::to_string),
        };
        let mut history = vec![
            deployment("r1", Some("2026-11-20T10:00:00Z")),
            deployment("r-unknown", None),
            deployment("r3", Some("2026-11-24T09:00:00.5+01:00")),
            deployment("r2", Some("2026-11-22T10:00:00.000000+00:00")),
        ];
        newest_first(&mut history);
        let order: Vec<_> = history
            .iter()
            .map(|d| d.target_revision_arn.as_deref().unwrap())
            .collect();
        assert_eq!(order, ["r3", "r2", "r1", "r-unknown"]);
    }
}
