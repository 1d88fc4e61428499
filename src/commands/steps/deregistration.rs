//! Deregistering a family's old revisions, shared by `deregister` and `--keep-revisions`: every
//! use of a revision is looked up first (the clusters' services, EventBridge rules, Scheduler
//! schedules), and a revision is let go only when none was found; when a lookup fails, nothing is.
use crate::adapters::aws::AwsConfig;
use crate::adapters::ecs::Ecs;
use crate::adapters::events::Events;
use crate::adapters::scheduler::Scheduler;
use crate::domain::deregistration::{self, DeregistrationPlan, Use};
use crate::domain::rollout::short_task_definition;
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

/// DeleteTaskDefinitions takes at most 10 revisions a call (ECS API reference).
const DELETE_BATCH: usize = 10;

/// Which family, how many of its newest revisions to keep, and where services may run it.
#[derive(Debug, Clone)]
pub struct Deregistration {
    pub family: String,
    pub keep: usize,
    /// The clusters whose services are looked at; none: every cluster (ListClusters).
    pub clusters: Vec<String>,
}

/// What was deregistered (and deleted), for stdout.
#[derive(Debug, Clone, Default)]
pub struct Deregistered {
    pub deregistered: Vec<String>,
    pub deleted: Vec<String>,
}

/// A lookup that failed: nothing is deregistered, since deployer cannot tell what is in use.
fn unsure(what: &str) -> impl Fn(Error) -> Error + '_ {
    move |error: Error| {
        let message = format!(
            "nothing was deregistered: deployer could not look up {what}, so it cannot tell which revisions are in use ({})",
            error.message
        );
        let mut unsure = Error::new(error.kind, message);
        unsure.details = error.details;
        unsure.with_hint(
            "grant ecs:ListClusters, ecs:ListServices, ecs:DescribeServices, events:ListRules, events:ListTargetsByRule, scheduler:ListSchedules and scheduler:GetSchedule (see the README's IAM table), then run it again",
        )
    }
}

/// Lists the family's ACTIVE revisions and every use of them, then decides what goes; nothing
/// changes. A family with no ACTIVE revision, or a cluster that does not exist, is exit 2.
pub async fn plan(config: &AwsConfig, request: &Deregistration) -> Result<DeregistrationPlan> {
    let ecs = Ecs::new(config);
    let active = ecs.active_revisions(&request.family).await?;
    if active.is_empty() {
        return Err(Error::usage(format!(
            "task definition family {} has no ACTIVE revision",
            request.family
        ))
        .with_hint(
            "check --family (e.g. tutorial-site-task) and the region; nothing was deregistered",
        ));
    }
    if !request.clusters.is_empty() {
        let missing = ecs.missing_clusters(&request.clusters).await?;
        if !missing.is_empty() {
            return Err(
                Error::usage(format!("cluster {} does not exist", missing.join(", ")))
                    .with_hint("check --cluster and the region; nothing was deregistered"),
            );
        }
    }
    // Without --cluster, every cluster: a service anywhere may run the family.
    let clusters = if request.clusters.is_empty() {
        ecs.all_clusters()
            .await
            .map_err(unsure("the clusters of the account"))?
    } else {
        request.clusters.clone()
    };
    let mut uses = Vec::new();
    for cluster in &clusters {
        let services = ecs
            .cluster_services(cluster)
            .await
            .map_err(unsure("the services of the clusters"))?;
        uses.extend(deregistration::used_by_services(&services));
    }
    uses.extend(scheduled_uses(config).await?);
    Ok(deregistration::plan(
        &request.family,
        &active,
        request.keep,
        &uses,
    ))
}

/// Every task definition an EventBridge rule on the default bus or a Scheduler schedule runs.
async fn scheduled_uses(config: &AwsConfig) -> Result<Vec<Use>> {
    let mut uses = Vec::new();
    let events = Events::new(config);
    let lookup = unsure("the EventBridge rules");
    for rule in events.rule_names().await.map_err(&lookup)? {
        let targets = events.rule_targets(&rule).await.map_err(&lookup)?;
        for target in targets.into_iter().flatten() {
            if let Some(task_definition) = target
                .pointer("/EcsParameters/TaskDefinitionArn")
                .and_then(|arn| arn.as_str())
            {
                uses.push(Use {
                    task_definition: task_definition.to_string(),
                    by: format!(
                        "rule {rule} target {}",
                        target["Id"].as_str().unwrap_or("?")
                    ),
                });
            }
        }
    }
    let scheduler = Scheduler::new(config);
    let lookup = unsure("the EventBridge Scheduler schedules");
    for (group, name) in scheduler.ecs_schedules().await.map_err(&lookup)? {
        let Some(schedule) = scheduler.schedule(&name, &group).await.map_err(&lookup)? else {
            continue;
        };
        if let Some(task_definition) = schedule
            .pointer("/Target/EcsParameters/TaskDefinitionArn")
            .and_then(|arn| arn.as_str())
        {
            uses.push(Use {
                task_definition: task_definition.to_string(),
                by: format!("schedule {group}/{name}"),
            });
        }
    }
    Ok(uses)
}

/// Logs what is kept and why, and what goes.
pub fn show(plan: &DeregistrationPlan, delete: bool) {
    for (arn, why) in &plan.kept {
        output::step(format!("keeping {}: {why}", short_task_definition(arn)));
    }
    let verb = if delete {
        "deregister and delete"
    } else {
        "deregister"
    };
    if plan.deregister.is_empty() {
        output::step("nothing to deregister");
    } else {
        output::step(format!(
            "{verb} {}",
            plan.deregister
                .iter()
                .map(|arn| short_task_definition(arn))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Deregisters the planned revisions, then with `delete` deletes them, ten a call; each change
/// is recorded, so a failure half-way says what was done.
pub async fn apply(
    config: &AwsConfig,
    plan: &DeregistrationPlan,
    delete: bool,
) -> Result<Deregistered> {
    let ecs = Ecs::new(config);
    let mut done = Deregistered::default();
    for arn in &plan.deregister {
        ecs.deregister_task_definition(arn).await?;
        journal::record(format!("deregistered {}", short_task_definition(arn)));
        done.deregistered.push(arn.clone());
    }
    if delete {
        for batch in plan.deregister.chunks(DELETE_BATCH) {
            let refused = ecs.delete_task_definitions(batch).await?;
            for arn in batch {
                if !refused.iter().any(|(refused, _)| refused == arn) {
                    journal::record(format!("deleted {}", short_task_definition(arn)));
                    done.deleted.push(arn.clone());
                }
            }
            if let Some((arn, reason)) = refused.first() {
                return Err(Error::environment(format!(
                    "ecs:DeleteTaskDefinitions refused {arn}: {reason}"
                ))
                .with_hint("it is deregistered; run deregister --delete again to delete it"));
            }
        }
    }
    Ok(done)
}

/// `--keep-revisions` after a successful deploy: the same deregistration for the deployed
/// family, every cluster looked at (another service may run the family). A failure is a
/// warning, never a failed deploy.
pub async fn after_deploy(config: &AwsConfig, family: &str, keep: usize) {
    let request = Deregistration {
        family: family.to_string(),
        keep,
        clusters: Vec::new(),
    };
    let result = async {
        let plan = plan(config, &request).await?;
        show(&plan, false);
        apply(config, &plan, false).await
    }
    .await;
    match result {
        Ok(done) => {
            for arn in &done.deregistered {
                output::step(format!("deregistered {}", short_task_definition(arn)));
            }
        }
        Err(error) => output::warn(format!(
            "--keep-revisions {keep}: the deploy succeeded, but deregistering old revisions of {family} did not: {}",
            error.message
        )),
    }
}
