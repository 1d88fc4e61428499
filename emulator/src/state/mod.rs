//! What the emulator knows: clusters, task-definition revisions (kept as the JSON they were
//! registered with), services with their deployments and events, tasks, repositories and
//! CodeDeploy's records; with the clock and the id source every layer uses. The bottom layer:
//! it imports nothing of the emulator but `config`, and the engine, the API modules and the
//! load balancer all import it.
pub mod codedeploy;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::Settings;

/// A request id / deployment id source; unique enough for one emulator process.
pub fn rand_id() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    nanos ^ (u128::from(COUNTER.fetch_add(1, Ordering::SeqCst)) << 64)
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub revision: u32,
    pub arn: String,
    /// The RegisterTaskDefinition input, tags removed.
    pub definition: Value,
    pub tags: Value,
    pub status: String,
    pub registered_at: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub id: String,
    /// Its ServiceDeployment's ARN (`…:service-deployment/CLUSTER/SERVICE/ID`).
    pub arn: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub failed_tasks: i64,
    pub rollout_state: String,
    pub rollout_state_reason: String,
    pub created_at: f64,
    pub updated_at: f64,
    /// The service revision this deployment rolls to (for ListServiceDeployments).
    pub revision_arn: String,
    /// The status ListServiceDeployments reports: IN_PROGRESS, SUCCESSFUL, STOPPED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL.
    pub listed_status: String,
    pub status_reason: Option<String>,
    pub finished_at: Option<f64>,
    /// The deployment the circuit breaker rolled this failed one back to.
    pub rolled_back_to: Option<String>,
    /// Whether this deployment is PRIMARY again because the circuit breaker rolled back to it:
    /// its rolloutStateReason then keeps saying so.
    pub rolling_back: bool,
    /// The service's `deploymentConfiguration` when the deployment started (its `strategy`
    /// decides how the runner drives it).
    pub configuration: Value,
    /// The service's `loadBalancers` when the deployment started (its revision's).
    pub load_balancers: Value,
    /// The service revisions that ran when it started (its source revisions).
    pub source_revisions: Vec<String>,
    pub started_at: f64,
    /// Where a native (blue/green, linear, canary) deployment is: see `deployments`.
    pub lifecycle_stage: Option<String>,
    pub phase: usize,
    pub phase_started_at: f64,
    /// Every lifecycle hook invocation so far, oldest first.
    pub hooks: Vec<HookRun>,
    /// The traffic this deployment's revision gets, in percent.
    pub production_weight: f64,
    pub test_weight: f64,
    pub rollback: Option<Rollback>,
    /// The circuit breaker tripped on this deployment.
    pub breaker_tripped: bool,
    pub triggered_alarms: Vec<String>,
}

/// One invocation of a lifecycle hook, as `lifecycleHookDetails` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookRun {
    pub id: String,
    pub target_type: String,
    pub target_arn: Option<String>,
    /// AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED or TIMED_OUT.
    pub status: String,
    pub expires_at: Option<f64>,
    pub timeout_action: String,
    /// The hook stage it ran at and the phase of the deployment that ran it.
    pub stage: String,
    pub phase: usize,
    pub started_at: f64,
}

/// A deployment's `rollback`: why, when, and to which service revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollback {
    pub reason: String,
    pub started_at: f64,
    pub revision_arn: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub created_at: f64,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub arn: String,
    pub name: String,
    pub cluster: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub deployment_configuration: Value,
    pub deployments: Vec<Deployment>,
    /// Finished deployments, newest first, for ListServiceDeployments.
    pub history: Vec<(Deployment, String)>,
    /// `deploymentController.type`: ECS or CODE_DEPLOY (whose deployments CodeDeploy starts).
    pub deployment_controller: String,
    pub events: Vec<Event>,
    pub status: String,
    pub created_at: f64,
    pub steady_reported: bool,
    /// How long container health-check failures of new tasks are ignored.
    pub health_check_grace_period: i64,
    /// The stale-describe fault: what DescribeServices answers instead of the service, and for
    /// how many more polls.
    pub stale: Option<(Value, u64)>,
    /// The service's `loadBalancers`, exactly as CreateService or UpdateService received them.
    pub load_balancers: Value,
    /// The placement fault: how many more launch attempts fail to place (`u64::MAX`: all).
    pub placement_failures_left: u64,
    pub last_placement_failure: f64,
    /// The ARN of the ServiceDeployment the last CreateService or UpdateService started (it
    /// stays current through a rollback, which starts none).
    pub current_service_deployment: String,
}

/// What Express Mode keeps of an Express service beside the service itself: the settings its
/// revisions are made from, and each revision's configuration, oldest first.
#[derive(Debug, Clone)]
pub struct ExpressService {
    pub infrastructure_role_arn: String,
    pub execution_role_arn: String,
    pub task_role_arn: Option<String>,
    pub cpu: String,
    pub memory: String,
    pub health_check_path: String,
    pub configurations: Vec<Value>,
    pub created_at: f64,
    pub updated_at: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Task {
    pub arn: String,
    pub id: String,
    pub cluster: String,
    pub service: String,
    pub deployment_id: String,
    pub task_definition: String,
    /// In the task definition's order; they share the first one's network namespace.
    pub containers: Vec<TaskContainer>,
    pub last_status: String,
    pub desired_status: String,
    pub healthy: bool,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub started_at: f64,
    pub stopped_at: Option<f64>,
    /// Until then a failing container health check does not stop the task (the service's
    /// healthCheckGracePeriodSeconds).
    pub grace_until: f64,
    /// When the task first became healthy (the load balancer's targets follow it).
    pub healthy_at: Option<f64>,
    /// The task's elastic network interface, as awsvpc tasks have one.
    pub network_interface: NetworkInterface,
    /// `startedBy`: the deployment's ID for a service's tasks, RunTask's `startedBy` otherwise.
    pub started_by: Option<String>,
    /// `group`: `service:NAME`, or RunTask's (default `family:FAMILY`).
    pub group: String,
    pub launch_type: String,
    /// RunTask's `overrides`, as given.
    pub overrides: Value,
    pub tags: Value,
    /// A RunTask task whose containers the runner has not started yet.
    pub awaiting_launch: bool,
}

/// A task's ENI as DescribeTasks reports it. The address is a label in the answers only: traffic
/// reaches the task through its network namespace, never through this address.
#[derive(Debug, Clone, Default)]
pub struct NetworkInterface {
    pub attachment_id: String,
    pub id: String,
    pub mac_address: String,
    pub private_ip: String,
}

impl NetworkInterface {
    /// The `number`th interface: 10.0.0.1, 10.0.0.2, … 10.0.0.254, 10.0.1.1, … (unique for the
    /// first 65,024 tasks of one emulator process).
    pub fn numbered(number: u64) -> Self {
        let index = number.saturating_sub(1);
        let (third, fourth) = ((index / 254) % 256, index % 254 + 1);
        NetworkInterface {
            attachment_id: format!(
                "{:08x}-0000-4000-8000-{:012x}",
                number >> 16,
                number & 0xffff_ffff_ffff
            ),
            id: format!("eni-{number:017x}"),
            mac_address: format!(
                "0a:00:00:{:02x}:{:02x}:{:02x}",
                (number >> 16) & 0xff,
                (number >> 8) & 0xff,
                number & 0xff
            ),
            private_ip: format!("10.0.{third}.{fourth}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Repository {
    pub name: String,
    pub tag_mutability: String,
    pub created_at: f64,
}

#[derive(Debug)]
pub struct State {
    pub account: String,
    pub region: String,
    pub clusters: BTreeMap<String, String>,
    pub revisions: BTreeMap<String, Vec<Revision>>,
    pub services: Vec<Service>,
    pub tasks: Vec<Task>,
    pub repositories: BTreeMap<String, Repository>,
    /// CodeDeploy's applications, deployment groups and deployments.
    pub codedeploy: codedeploy::CodeDeployState,
    /// Express Mode's own view of the services created by CreateExpressGatewayService, by ARN.
    pub express: BTreeMap<String, ExpressService>,
    sequence: u64,
    interfaces: u64,
}

impl State {
    pub fn new(settings: &Settings) -> Self {
        State {
            account: settings.account.clone(),
            region: settings.region.clone(),
            clusters: BTreeMap::new(),
            revisions: BTreeMap::new(),
            services: Vec::new(),
            tasks: Vec::new(),
            repositories: BTreeMap::new(),
            codedeploy: Default::default(),
            express: BTreeMap::new(),
            sequence: 0,
            interfaces: 0,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// A network interface no other task of this process has had.
    pub fn next_network_interface(&mut self) -> NetworkInterface {
        self.interfaces += 1;
        NetworkInterface::numbered(self.interfaces)
    }

    pub fn arn(&self, kind: &str, rest: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{kind}/{rest}", self.region, self.account)
    }

    /// A cluster name from a name or ARN.
    pub fn cluster_name(reference: Option<&str>) -> String {
        let reference = reference.unwrap_or("default");
        reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string()
    }

    /// The revision a reference names: `family`, `family:N` or an ARN.
    pub fn find_revision(&self, reference: &str) -> Option<&Revision> {
        let short = reference
            .rsplit_once(":task-definition/")
            .map_or(reference, |(_, short)| short);
        let (family, revision) = match short.rsplit_once(':') {
            Some((family, number)) => (family, number.parse::<u32>().ok()),
            None => (short, None),
        };
        let revisions = self.revisions.get(family)?;
        match revision {
            Some(number) => revisions.iter().find(|r| r.revision == number),
            None => revisions.iter().rev().find(|r| r.status == "ACTIVE"),
        }
    }

    /// The revision of this ARN, to change its status.
    pub fn revision_mut(&mut self, arn: &str) -> Option<&mut Revision> {
        self.revisions
            .values_mut()
            .flat_map(|list| list.iter_mut())
            .find(|r| r.arn == arn)
    }

    /// The position of the service named `name` (or its ARN) in `cluster`, unless deleted.
    pub fn service_index(&self, cluster: &str, name: &str) -> Option<usize> {
        let name = name.rsplit('/').next().unwrap_or(name);
        self.services
            .iter()
            .position(|s| s.cluster == cluster && s.name == name && s.status != "INACTIVE")
    }

    /// One more failed task for the service's deployment `deployment_id` (the circuit breaker's
    /// count, DescribeServices' `failedTasks`), if the deployment is still listed.
    pub fn count_failed_task(&mut self, service_index: usize, deployment_id: &str) {
        if let Some(deployment) = self.services[service_index]
            .deployments
            .iter_mut()
            .find(|d| d.id == deployment_id)
        {
            deployment.failed_tasks += 1;
        }
    }

    pub fn add_event(&mut self, service_index: usize, message: String) {
        let id = format!("{:08x}-event-{}", self.next_id(), service_index);
        let service = &mut self.services[service_index];
        let message = format!("(service {}) {message}", service.name);
        service.events.insert(
            0,
            Event {
                id,
                created_at: now(),
                message,
            },
        );
        service.events.truncate(100);
    }
}

impl Revision {
    /// The `taskDefinition` object DescribeTaskDefinition answers.
    pub fn described(&self) -> Value {
        let mut value = self.definition.clone();
        value["taskDefinitionArn"] = json!(self.arn);
        value["revision"] = json!(self.revision);
        value["status"] = json!(self.status);
        value["registeredAt"] = json!(self.registered_at);
        value["registeredBy"] = json!("arn:aws:iam::123456789012:user/deployer-emulator");
        if let Some(required) = value
            .get("requiresCompatibilities")
            .and_then(Value::as_array)
        {
            // What the revision can run on: Managed Instances revisions are their own kind.
            value["compatibilities"] = if required.iter().any(|c| c == "MANAGED_INSTANCES") {
                json!(["MANAGED_INSTANCES"])
            } else {
                json!(["EC2", "FARGATE"])
            };
        }
        value
    }
}

impl Deployment {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "status": self.status,
            "taskDefinition": self.task_definition,
            "desiredCount": self.desired_count,
            "runningCount": self.running_count,
            "pendingCount": self.pending_count,
            "failedTasks": self.failed_tasks,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "launchType": "FARGATE",
            "rolloutState": self.rollout_state,
            "rolloutStateReason": self.rollout_state_reason,
        })
    }
}

impl Service {
    pub fn to_json(&self) -> Value {
        json!({
            "serviceArn": self.arn,
            "serviceName": self.name,
            "clusterArn": format!("{}", self.arn.replace(&format!(":service/{}/{}", self.cluster, self.name), &format!(":cluster/{}", self.cluster))),
            "status": self.status,
            "desiredCount": self.desired_count,
            "runningCount": self.deployments.iter().map(|d| d.running_count).sum::<i64>(),
            "pendingCount": self.deployments.iter().map(|d| d.pending_count).sum::<i64>(),
            "launchType": "FARGATE",
            "taskDefinition": self.task_definition,
            "deploymentConfiguration": with_default_strategy(&self.deployment_configuration),
            "currentServiceDeployment": self.current_service_deployment,
            "deployments": self.deployments.iter().map(Deployment::to_json).collect::<Vec<_>>(),
            "events": self.events.iter().map(|e| json!({"id": e.id, "createdAt": e.created_at, "message": e.message})).collect::<Vec<_>>(),
            "createdAt": self.created_at,
            "schedulingStrategy": "REPLICA",
            "deploymentController": {"type": self.deployment_controller},
            "healthCheckGracePeriodSeconds": self.health_check_grace_period,
            "loadBalancers": self.load_balancers,
        })
    }

    /// maximumPercent and minimumHealthyPercent, with ECS's defaults (200 and 100).
    pub fn percents(&self) -> (i64, i64) {
        let configuration = &self.deployment_configuration;
        (
            configuration["maximumPercent"].as_i64().unwrap_or(200),
            configuration["minimumHealthyPercent"]
                .as_i64()
                .unwrap_or(100),
        )
    }

    /// `deploymentConfiguration.earlySuccessCriteria` when enabled: the healthy percent, and
    /// whether the old tasks may outlive the success (DEFERRED cleanup).
    pub fn early_success(&self) -> Option<(i64, bool)> {
        let criteria = &self.deployment_configuration["earlySuccessCriteria"];
        if criteria["enable"].as_bool() != Some(true) {
            return None;
        }
        Some((
            criteria["healthyPercent"].as_i64().unwrap_or(100),
            criteria["sourceServiceRevisionCleanup"] == "DEFERRED",
        ))
    }

    pub fn circuit_breaker(&self) -> (bool, bool) {
        // CodeDeploy fails a deployment whose replacement tasks do not stay healthy, and rolls
        // the traffic back to the original task set.
        if self.deployment_controller == "CODE_DEPLOY" {
            return (true, true);
        }
        let breaker = &self.deployment_configuration["deploymentCircuitBreaker"];
        (
            breaker["enable"].as_bool().unwrap_or(false),
            breaker["rollback"].as_bool().unwrap_or(false),
        )
    }
}

/// The `strategy` of a `deploymentConfiguration` (ECS's default: ROLLING).
pub fn strategy_of(configuration: &Value) -> &str {
    configuration["strategy"].as_str().unwrap_or("ROLLING")
}

/// A `deploymentConfiguration` as ECS answers it: the strategy always said.
pub fn with_default_strategy(configuration: &Value) -> Value {
    let mut configuration = configuration.clone();
    if configuration.is_object() && configuration.get("strategy").is_none() {
        configuration["strategy"] = json!("ROLLING");
    }
    configuration
}

/// One container of a task, as DescribeTasks reports it.
#[derive(Debug, Clone, Default)]
pub struct TaskContainer {
    pub name: String,
    pub essential: bool,
    /// The Docker container, once created.
    pub id: Option<String>,
    pub last_status: String,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
    /// Whether it has a health check: the task definition's, or its image's HEALTHCHECK.
    pub has_health: bool,
    /// With the `awslogs` driver: the log group and stream (`prefix/container/task-id`).
    pub log_stream: Option<(String, String)>,
    /// What the container wrote (stdout and stderr), with each line's time in milliseconds, as
    /// CloudWatch Logs serves it; kept after the container is removed.
    pub log_lines: Vec<(i64, String)>,
}

impl Task {
    /// The container whose network namespace the task's containers share (the load balancer's
    /// way in).
    pub fn network_container(&self) -> Option<&str> {
        self.containers.first()?.id.as_deref()
    }

    pub fn to_json(&self) -> Value {
        let interface = &self.network_interface;
        json!({
            "taskArn": self.arn,
            "clusterArn": self.arn.split(":task/").next().map(|prefix| format!("{prefix}:cluster/{}", self.cluster)),
            "taskDefinitionArn": self.task_definition,
            "group": self.group,
            "lastStatus": self.last_status,
            "desiredStatus": self.desired_status,
            "healthStatus": if self.healthy { "HEALTHY" } else { "UNKNOWN" },
            "launchType": self.launch_type,
            "startedBy": self.started_by,
            "overrides": self.overrides,
            "tags": self.tags,
            "createdAt": self.started_at,
            "startedAt": self.started_at,
            "stoppedAt": self.stopped_at,
            "stoppedReason": self.stopped_reason,
            "stopCode": self.stop_code,
            "attachments": [{
                "id": interface.attachment_id,
                "type": "ElasticNetworkInterface",
                "status": if self.last_status == "STOPPED" { "DELETED" } else { "ATTACHED" },
                "details": [
                    {"name": "subnetId", "value": "subnet-0emulator"},
                    {"name": "networkInterfaceId", "value": interface.id},
                    {"name": "macAddress", "value": interface.mac_address},
                    {"name": "privateIPv4Address", "value": interface.private_ip},
                ],
            }],
            "containers": self.containers.iter().map(|c| json!({
                "name": c.name,
                "taskArn": self.arn,
                "lastStatus": c.last_status,
                "exitCode": c.exit_code,
                "reason": c.reason,
                "runtimeId": c.id,
                "essential": c.essential,
                // As ECS: UNKNOWN without a health check, and until the first check passed.
                "healthStatus": if c.has_health && self.healthy { "HEALTHY" } else { "UNKNOWN" },
                "networkInterfaces": [{
                    "attachmentId": interface.attachment_id,
                    "privateIpv4Address": interface.private_ip,
                }],
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_interfaces_are_unique_and_stay_in_10_0() {
        let first = NetworkInterface::numbered(1);
        assert_eq!(first.private_ip, "10.0.0.1");
        assert_eq!(NetworkInterface::numbered(254).private_ip, "10.0.0.254");
        assert_eq!(NetworkInterface::numbered(255).private_ip, "10.0.1.1");
        let addresses: std::collections::HashSet<String> = (1..=65_024)
            .map(|number| NetworkInterface::numbered(number).private_ip)
            .collect();
        assert_eq!(addresses.len(), 65_024);
        let other = NetworkInterface::numbered(2);
        assert_ne!(first.attachment_id, other.attachment_id);
        assert_ne!(first.id, other.id);
        assert_ne!(first.mac_address, other.mac_address);
        assert_eq!(first.attachment_id.len(), 36);
        assert_eq!(first.id.len(), "eni-".len() + 17);
    }
}
