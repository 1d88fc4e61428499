//! Following the ServiceDeployment a rollout created (DescribeServiceDeployments): identified
//! from the service's `currentServiceDeployment` by its target revision and creation time, then
//! polled beside DescribeServices. Where ECS does not report service deployments, the waiter
//! says so once and judges by DescribeServices alone.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::adapters::aws::{ApiError, ApiErrorKind};
use crate::adapters::ecs::{Ecs, HistoricDeployment};
use crate::domain::duration::format_duration;
use crate::domain::rollout::{
    same_task_definition, short_task_definition, ServiceSnapshot, Target,
};
use crate::domain::service_deployment::{
    assess, short_id, DeploymentLog, ServiceDeployment, Verdict,
};
use crate::domain::timestamps::parse_timestamp;
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

/// What the waiter knows about our ServiceDeployment.
pub struct Followed {
    arn: Option<String>,
    /// The hook `deployer continue` just resumed, at its stage: not a new pause.
    continued: Option<(String, Option<String>)>,
    unavailable: bool,
    said_absent: bool,
    /// Current service deployments that turned out not to be ours.
    rejected: HashSet<String>,
    /// The service's current ServiceDeployment before our UpdateService: never ours.
    excluded: Option<String>,
    /// Service revision → task definition, as DescribeServiceRevisions answered.
    revisions: HashMap<String, String>,
    log: DeploymentLog,
    started: Instant,
    /// The last answer about ours.
    pub last: Option<ServiceDeployment>,
    /// `--smoke-test` answers the pause this wait stops at: nobody is to approve it by hand.
    pub gated: bool,
}

impl Followed {
    /// `known`: the ARN when the caller already knows it (`deployer continue`), with the hook it
    /// continued.
    pub fn new(known: Option<String>, continued: Option<(String, Option<String>)>) -> Self {
        Followed {
            arn: known,
            continued,
            unavailable: false,
            said_absent: false,
            rejected: HashSet::new(),
            excluded: None,
            revisions: HashMap::new(),
            log: DeploymentLog::default(),
            started: Instant::now(),
            last: None,
            gated: false,
        }
    }

    /// The pause this wait stops at is the `--smoke-test` gate's.
    pub fn gated(mut self) -> Self {
        self.gated = true;
        self
    }

    /// Never takes `previous` (the service's current ServiceDeployment before our call) for
    /// ours, whatever DescribeServices answers while it catches up.
    pub fn excluding(mut self, previous: Option<String>) -> Self {
        self.excluded = previous;
        self
    }

    pub fn arn(&self) -> Option<&str> {
        self.arn.as_deref()
    }

    /// Whether the ServiceDeployment API proved unavailable (or ECS reports none).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable || (self.said_absent && self.arn.is_none())
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Polls our ServiceDeployment, identifying it first; prints what changed. `None` while it
    /// is not identified, when the API is not available, or when this poll failed transiently.
    /// Access denied to any of the ServiceDeployment reads is an error (exit 3, naming the IAM
    /// action): without them the wait could not tell what ECS did.
    pub async fn poll(
        &mut self,
        ecs: &Ecs,
        snapshot: &ServiceSnapshot,
        target: &Target,
    ) -> Result<Option<Verdict>> {
        if self.unavailable {
            return Ok(None);
        }
        let found = match self.arn.clone() {
            Some(arn) => self.describe(ecs, &arn).await?,
            None => self.identify(ecs, snapshot, target).await?,
        };
        let Some(deployment) = found else {
            return Ok(None);
        };
        for line in self.log.observe(&deployment, self.now()) {
            output::step(line);
        }
        let mut verdict = assess(&deployment, &target.wait_until);
        if let Verdict::Failed(message) | Verdict::Undoing(message) = &mut verdict {
            let previous = match deployment.rollback_revision() {
                Some(revision) => self.task_definition_of(ecs, revision).await?,
                None => None,
            };
            if let Some(previous) = previous {
                *message = deployment.failure_back_to(Some(short_task_definition(&previous)));
            }
        }
        if let (Verdict::Paused { hook_id }, Some((continued, stage))) = (&verdict, &self.continued)
        {
            if hook_id == continued && deployment.lifecycle_stage == *stage {
                // ECS has not caught up with the ContinueServiceDeployment yet.
                verdict = Verdict::InProgress;
            }
        }
        self.last = Some(deployment);
        Ok(Some(verdict))
    }

    /// The heartbeat's words about our deployment, once it is identified.
    pub fn summary(&self) -> Option<String> {
        let last = self.last.as_ref()?;
        Some(format!(
            "service deployment {}: {}",
            last.id(),
            self.log.summary(last, self.now())
        ))
    }

    async fn describe(&mut self, ecs: &Ecs, arn: &str) -> Result<Option<ServiceDeployment>> {
        match ecs.service_deployment(arn).await {
            Ok(found) => Ok(found),
            Err(error) => self.failed_read(error),
        }
    }

    /// What a failed read means: access denied is an error; a transient failure (throttling, a
    /// 5xx after the SDK's retries) is tried again at the next poll; an operation the endpoint
    /// does not have means the API is not there, said once.
    fn failed_read<T>(&mut self, error: ApiError) -> Result<Option<T>> {
        if error.kind == ApiErrorKind::AccessDenied {
            return Err(Error::from(error).with_detail(
                "deployer follows the service deployment with ecs:ListServiceDeployments, \
                 ecs:DescribeServiceDeployments and ecs:DescribeServiceRevisions",
            ));
        }
        if error.is_transient() {
            tracing::debug!("{error}; trying again at the next poll");
            return Ok(None);
        }
        self.give_up(&error);
        Ok(None)
    }

    fn give_up(&mut self, error: &ApiError) {
        self.unavailable = true;
        output::step(format!(
            "the ServiceDeployment API is not available ({error}); following DescribeServices alone"
        ));
    }

    /// The task definition a service revision runs (cached; `None` when it cannot be told yet).
    async fn task_definition_of(&mut self, ecs: &Ecs, revision: &str) -> Result<Option<String>> {
        if let Some(known) = self.revisions.get(revision) {
            return Ok(Some(known.clone()));
        }
        match ecs.revision_task_definition(revision).await {
            Ok(Some(task_definition)) => {
                self.revisions
                    .insert(revision.to_string(), task_definition.clone());
                Ok(Some(task_definition))
            }
            Ok(None) => Ok(None),
            Err(error) => self.failed_read(error),
        }
    }

    async fn identify(
        &mut self,
        ecs: &Ecs,
        snapshot: &ServiceSnapshot,
        target: &Target,
    ) -> Result<Option<ServiceDeployment>> {
        let Some(current) = snapshot.current_service_deployment.clone() else {
            if !self.said_absent {
                self.said_absent = true;
                output::step(format!(
                    "ECS reports no service deployment for {}; following DescribeServices alone",
                    snapshot.service_name
                ));
            }
            return Ok(None);
        };
        if self.rejected.contains(&current) {
            return Ok(None);
        }
        let Some(deployment) = self.describe(ecs, &current).await? else {
            return Ok(None);
        };
        let Some(revision) = deployment.target_service_revision.as_ref() else {
            return Ok(None);
        };
        let revision = revision.arn.clone();
        let Some(task_definition) = self.task_definition_of(ecs, &revision).await? else {
            return Ok(None);
        };
        let ours_created = target
            .created_at
            .as_deref()
            .and_then(parse_timestamp)
            .map(|(seconds, nanos)| seconds as f64 + f64::from(nanos) / 1e9);
        let excluded = self.excluded.as_deref() == Some(current.as_str());
        if excluded
            || !same_task_definition(&task_definition, &target.task_definition_arn)
            || !deployment.could_be_ours(ours_created)
        {
            self.rejected.insert(current);
            return Ok(None);
        }
        output::step(format!(
            "following service deployment {} ({} strategy)",
            deployment.id(),
            deployment.strategy()
        ));
        self.arn = Some(current);
        Ok(Some(deployment))
    }

    /// `--rollback-on-cancel`: StopServiceDeployment ROLLBACK, then waits up to `limit` for
    /// the rollback to finish. Returns what happened, for the error the wait ends with.
    pub async fn roll_back(&mut self, ecs: &Ecs, why: &str, limit: Duration) -> Result<String> {
        let Some(arn) = self.arn.clone() else {
            return Err(Error::failed(format!(
                "--rollback-on-cancel: {why}, but deployer has no service deployment of ours to roll back (ECS reported none)"
            ))
            .with_hint("roll back with deployer rollback"));
        };
        let id = short_id(&arn).to_string();
        if self.last.as_ref().is_some_and(|last| last.is_finished()) {
            return Ok(format!("service deployment {id} had already finished"));
        }
        if self.last.as_ref().is_some_and(|last| last.is_undoing()) {
            return Ok(format!(
                "ECS was already rolling service deployment {id} back"
            ));
        }
        output::step(format!(
            "{why}: asking ECS to roll service deployment {id} back (--rollback-on-cancel)"
        ));
        ecs.roll_back_service_deployment(&arn).await?;
        journal::record(format!(
            "asked ECS to roll service deployment {id} back (StopServiceDeployment ROLLBACK)"
        ));
        let Some(last) = self.until_finished(ecs, &arn, limit, ROLLBACK_POLL).await? else {
            return Ok(format!(
                "ECS is rolling service deployment {id} back; deployer stopped waiting for it after {}",
                format_duration(limit)
            ));
        };
        let last = last.clone();
        let previous = match last.rollback_revision() {
            Some(revision) => self
                .task_definition_of(ecs, revision)
                .await
                .ok()
                .flatten()
                .map(|arn| short_task_definition(&arn).to_string()),
            None => None,
        };
        Ok(last.undone_outcome(previous.as_deref()))
    }

    /// Rejects ours at the PAUSE hook it waits at (ContinueServiceDeployment ROLLBACK), then
    /// waits up to `limit` for the rollback. Returns what happened and whether ECS finished
    /// rolling back (ROLLBACK_SUCCESSFUL).
    pub async fn reject_at_hook(
        &mut self,
        ecs: &Ecs,
        hook_id: &str,
        limit: Duration,
        interval: Duration,
    ) -> Result<(String, bool)> {
        let Some(arn) = self.arn.clone() else {
            return Err(Error::failed(
                "deployer has no service deployment of ours to roll back (ECS reported none)",
            )
            .with_hint("roll back with deployer rollback"));
        };
        let id = short_id(&arn).to_string();
        ecs.continue_service_deployment(&arn, hook_id, true)
            .await
            .map_err(|error| {
                Error::from(error).with_detail(format!(
                    "ECS refused to roll service deployment {id} back at lifecycle hook {hook_id}: the hook's own timeout action applies"
                ))
            })?;
        journal::record(format!(
            "asked ECS to roll service deployment {id} back at lifecycle hook {hook_id} (ContinueServiceDeployment ROLLBACK)"
        ));
        output::step(format!(
            "asked ECS to roll service deployment {id} back at lifecycle hook {hook_id}"
        ));
        let Some(last) = self.until_finished(ecs, &arn, limit, interval).await? else {
            return Ok((
                format!(
                    "ECS is rolling service deployment {id} back; deployer stopped waiting for it after {}",
                    format_duration(limit)
                ),
                false,
            ));
        };
        let last = last.clone();
        let previous = match last.rollback_revision() {
            Some(revision) => self
                .task_definition_of(ecs, revision)
                .await
                .ok()
                .flatten()
                .map(|arn| short_task_definition(&arn).to_string()),
            None => None,
        };
        Ok((
            last.undone_outcome(previous.as_deref()),
            last.status == "ROLLBACK_SUCCESSFUL",
        ))
    }

    /// Polls the deployment `arn` every `interval`, printing what changed, until ECS is done
    /// with it (its last answer) or `limit` passed (`None`).
    pub async fn until_finished(
        &mut self,
        ecs: &Ecs,
        arn: &str,
        limit: Duration,
        interval: Duration,
    ) -> Result<Option<&ServiceDeployment>> {
        let started = Instant::now();
        loop {
            if let Some(deployment) = self.describe(ecs, arn).await? {
                for line in self.log.observe(&deployment, self.now()) {
                    output::step(line);
                }
                let finished = deployment.is_finished();
                self.last = Some(deployment);
                if finished {
                    return Ok(self.last.as_ref());
                }
            }
            if self.unavailable || started.elapsed() >= limit {
                return Ok(None);
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// How often a rollback `--rollback-on-cancel` asked for is polled.
const ROLLBACK_POLL: Duration = Duration::from_secs(2);

/// Sorts deployments newest first by `createdAt` (the API does not promise an order); those
/// without a readable time go last, in the order ECS gave them.
pub fn newest_first(history: &mut [HistoricDeployment]) {
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
