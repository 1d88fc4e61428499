//! What update-service takes (resolved by the CLI layer), what it plans before any change, and
//! what it answers.
use serde::Serialize;
use serde_json::Value;

use crate::adapters::aws::AwsSettings;
use crate::adapters::ecs::{ServiceCreation, ServiceState};
use crate::commands::steps::codedeploy::{CodeDeployPlan, CodeDeploySettings};
use crate::commands::steps::registration::Plan;
use crate::commands::steps::rollout_wait::WaitSettings;
use crate::commands::steps::scheduled_tasks::{ScheduledPlan, ScheduledTasks};
use crate::commands::steps::smoke_test::SmokeTest;
use crate::domain::controller::StrategyChange;
use crate::domain::rollout::WaitUntil;
use crate::domain::task_definition_file::TaskDefinitionFile;
use crate::domain::update_spec::ContainerUpdate;

/// Everything update-service needs, resolved by the CLI layer.
#[derive(Debug, Clone)]
pub struct UpdateServiceSettings {
    pub aws: AwsSettings,
    pub cluster: String,
    pub service: String,
    pub family: String,
    /// The file to register instead of the family's latest revision.
    pub file: Option<TaskDefinitionFile>,
    pub updates: Vec<ContainerUpdate>,
    /// Tags set on the new revision, upserted by key.
    pub tags: Vec<(String, String)>,
    pub skip_registration: bool,
    /// `--allow-family-change`: the service may move to another family than the one it runs.
    pub allow_family_change: bool,
    pub force_new_deployment: bool,
    pub desired_count: Option<i32>,
    pub enable_circuit_breaker: bool,
    /// `--strategy` and its settings, merged into the service's deployment configuration.
    pub strategy: StrategyChange,
    /// With `--create-service`: how to create the service when it does not exist.
    pub create: Option<ServiceCreation>,
    /// `None` with `--no-wait`.
    pub wait: Option<(WaitSettings, WaitUntil)>,
    pub dry_run: bool,
    /// Scheduled tasks to point at the deployed revision once the service is on it.
    pub scheduled: ScheduledTasks,
    /// How to deploy a service with the CODE_DEPLOY deployment controller.
    pub codedeploy: CodeDeploySettings,
    /// `--smoke-test`: the gate once test traffic reaches the new revision.
    pub smoke_test: Option<SmokeTest>,
    /// `--keep-revisions N`: once the deploy succeeded, deregister the family's older revisions.
    pub keep_revisions: Option<usize>,
    /// Check in the plan that what the new revision needs exists (`--no-verify` turns it off).
    pub verify: bool,
}

/// What happened, for stdout and `--export-env`.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateServiceOutcome {
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    pub previous_task_definition_arn: String,
    pub registered: bool,
    pub deployment_id: Option<String>,
    /// `completed`, `running` (with `--wait-until running`), `paused` (`--wait-until paused`),
    /// `baking` (`--wait-until bake-time`), `no-tasks` (done, but the service's desired count
    /// is 0), `started` (with `--no-wait`), `planned` (`--dry-run`) or `unchanged` (a rollback
    /// to the revision the service already runs).
    pub result: String,
    /// Our ServiceDeployment, where ECS reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    /// With `result` paused: the lifecycle hook it waits at (`deployer continue` resumes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<String>,
    /// With `--dry-run`: the rendered RegisterTaskDefinition input and what changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The CodeDeploy deployment, for a service with the CODE_DEPLOY controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codedeploy_deployment_id: Option<String>,
    /// With `--dry-run` on a CODE_DEPLOY service: the AppSpec CreateDeployment will send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codedeploy_appspec: Option<Value>,
    /// With `--dry-run` on an Express service: the UpdateExpressGatewayService input it will send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub express_update: Option<Value>,
}

impl UpdateServiceOutcome {
    pub fn export_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "DEPLOYER_TASK_DEFINITION_ARN",
                self.task_definition_arn.clone(),
            ),
            (
                "DEPLOYER_PREVIOUS_TASK_DEFINITION_ARN",
                self.previous_task_definition_arn.clone(),
            ),
            (
                "DEPLOYER_DEPLOYMENT_ID",
                self.deployment_id.clone().unwrap_or_default(),
            ),
            ("DEPLOYER_CLUSTER", self.cluster.clone()),
            ("DEPLOYER_SERVICE", self.service.clone()),
            (
                "DEPLOYER_SERVICE_DEPLOYMENT_ARN",
                self.service_deployment_arn.clone().unwrap_or_default(),
            ),
            ("DEPLOYER_HOOK_ID", self.hook_id.clone().unwrap_or_default()),
            (
                "DEPLOYER_CODEDEPLOY_DEPLOYMENT_ID",
                self.codedeploy_deployment_id.clone().unwrap_or_default(),
            ),
        ]
    }
}

/// What update-service will do, computed and checked before its first side effect.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// The service as it is; `None` when `--create-service` will create it.
    pub state: Option<ServiceState>,
    /// How it will be created, checked against the task definition.
    pub creation: Option<ServiceCreation>,
    /// What the new revision is made from, in DescribeTaskDefinition's shape: the family's latest
    /// revision, or the file.
    pub described: Value,
    /// The family's latest revision, as DescribeTaskDefinition answered it (`None` when a file
    /// registers the family's first revision).
    pub latest: Option<Value>,
    /// The latest revision's ARN (empty when there is none).
    pub base_arn: String,
    /// The revision to register; `None` deploys `base_arn` as it is.
    pub registration: Option<Plan>,
    /// The scheduled tasks that will follow, found and checked.
    pub scheduled: ScheduledPlan,
    /// For a service with the CODE_DEPLOY controller: the CodeDeploy deployment to create.
    pub codedeploy: Option<CodeDeployPlan>,
    /// For an Express Mode service: the image change UpdateExpressGatewayService will make.
    pub express: Option<ExpressPlan>,
}

/// An Express service's update: ECS registers the revision itself from the primary container.
#[derive(Debug, Clone)]
pub struct ExpressPlan {
    /// The primary container's name in the task definition the service runs.
    pub container: String,
    pub old_image: String,
    pub new_image: String,
    /// The UpdateExpressGatewayService input: the whole primary container, image changed.
    pub input: Value,
}

/// The flags of `flags` that were given (`true`), in order: what a refusal names.
pub(super) fn given(flags: &[(&'static str, bool)]) -> Vec<&'static str> {
    flags
        .iter()
        .filter(|(_, given)| *given)
        .map(|(flag, _)| *flag)
        .collect()
}
