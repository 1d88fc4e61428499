//! `--wait-until running` against the live service: our deployment's tasks described (their
//! health checks read once from our revision), the load balancer's view of them, and the settle
//! time they must stay ready for. The judgement itself is `domain::rollout::readiness`.
use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::adapters::ecs::Ecs;
use crate::adapters::elb::Elb;
use crate::domain::duration::format_duration;
use crate::domain::rollout::{
    ours, targets_ready, tasks_ready, RunningTask, ServiceSnapshot, Target,
};
use crate::output;

/// `--wait-until running`: our tasks running and healthy, and staying so for the settle time.
#[derive(Default)]
pub struct Readiness {
    /// The load balancer's client, made when a service has target groups.
    elb: Option<Elb>,
    /// Containers whose definition has a health check, read once.
    health_checked: Option<Vec<String>>,
    ready_since: Option<Instant>,
    last_reason: Option<String>,
}

impl Readiness {
    /// Why our tasks were not ready at the last look, if they were not.
    pub fn last_reason(&self) -> Option<&str> {
        self.last_reason.as_deref()
    }

    /// Our tasks are not (or no longer) all ready: the settle time starts again.
    pub fn reset(&mut self) {
        self.ready_since = None;
    }

    /// Whether the tasks have been ready for the settle time; prints each change of state once.
    pub async fn check(
        &mut self,
        ecs: &Ecs,
        cluster: &str,
        service: &str,
        target: &Target,
        snapshot: &ServiceSnapshot,
        settle: Duration,
    ) -> bool {
        if self.health_checked.is_none() {
            let checked = match ecs
                .describe_task_definition(&target.task_definition_arn)
                .await
            {
                Ok(described) => health_checked_containers(&described),
                Err(error) => {
                    tracing::debug!("cannot read the health checks of our revision: {error}");
                    Vec::new()
                }
            };
            self.health_checked = Some(checked);
        }
        let desired = snapshot
            .deployments
            .iter()
            .find(|deployment| deployment.id == target.deployment_id)
            .map_or(0, |deployment| deployment.desired_count);
        let verdict = match ecs.running_tasks(cluster, service).await {
            Ok(tasks) => match tasks_ready(
                &tasks,
                target,
                desired,
                self.health_checked.as_deref().unwrap_or_default(),
            ) {
                Ok(()) => {
                    self.targets(ecs, cluster, snapshot, &ours(&tasks, target))
                        .await
                }
                not_ready => not_ready,
            },
            Err(error) => Err(format!("the tasks could not be listed: {error}")),
        };
        match verdict {
            Ok(()) => {
                self.last_reason = None;
                let since = *self.ready_since.get_or_insert_with(|| {
                    output::step(format!(
                        "every task of deployment {} is running and healthy; settling for {}",
                        target.deployment_id,
                        format_duration(settle)
                    ));
                    Instant::now()
                });
                since.elapsed() >= settle
            }
            Err(why) => {
                if self.ready_since.take().is_some() || self.last_reason.as_ref() != Some(&why) {
                    output::step(format!("waiting for our tasks: {why}"));
                }
                self.last_reason = Some(why);
                false
            }
        }
    }
}

impl Readiness {
    /// Behind a load balancer: our tasks are healthy targets of every target group.
    async fn targets(
        &mut self,
        ecs: &Ecs,
        cluster: &str,
        snapshot: &ServiceSnapshot,
        ours: &[&RunningTask],
    ) -> Result<(), String> {
        let groups: Vec<&str> = snapshot
            .load_balancers
            .iter()
            .filter_map(|balancer| balancer.target_group_arn.as_deref())
            .collect();
        if groups.is_empty() {
            return Ok(());
        }
        let Some(config) = ecs.config() else {
            return Ok(());
        };
        let elb = self.elb.get_or_insert_with(|| Elb::new(config));
        let mut health = BTreeMap::new();
        for group in groups {
            let targets = elb
                .target_health(group)
                .await
                .map_err(|error| format!("the target health could not be read: {error}"))?;
            health.insert(group.to_string(), targets);
        }
        let without_address: Vec<String> = ours
            .iter()
            .filter(|task| task.private_ip.is_none())
            .filter_map(|task| task.container_instance_arn.clone())
            .collect();
        let instances = ecs
            .instance_ids(cluster, without_address)
            .await
            .map_err(|error| format!("the container instances could not be read: {error}"))?;
        targets_ready(ours, &snapshot.load_balancers, &health, &instances)
    }
}

/// Names of the containers of a DescribeTaskDefinition answer that define a health check.
fn health_checked_containers(described: &serde_json::Value) -> Vec<String> {
    described
        .pointer("/taskDefinition/containerDefinitions")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|container| {
            container
                .get("healthCheck")
                .is_some_and(|check| !check.is_null())
        })
        .filter_map(|container| container["name"].as_str().map(str::to_string))
        .collect()
}
