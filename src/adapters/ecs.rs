//! Amazon ECS: task definitions as raw JSON (so every field, even ones this SDK version does not
//! know, survives a re-registration), services, deployments and stopped tasks.
mod express;

use super::recorder::Recorder;
use std::sync::Arc;

use super::aws::AwsConfig;
use aws_sdk_ecs::types::{DesiredStatus, TaskDefinitionField};
use aws_smithy_types::date_time::Format;
use serde_json::Value;

use super::aws::ApiError;
use super::raw_json::{CaptureBody, ReplaceBody};
use crate::domain::rollout::{
    Deployment, LoadBalancer, RunningTask, ServiceEvent, ServiceSnapshot, StoppedContainer,
    StoppedTask,
};
use crate::domain::service_deployment::{self, ServiceDeployment};
use crate::error::Error;

/// A service as DescribeServices answered it: the snapshot the waiter reads, and the raw JSON
/// (deployment controller, configuration) that plans read and `update-service` merges into.
#[derive(Debug, Clone)]
pub struct ServiceState {
    pub snapshot: ServiceSnapshot,
    /// `services[0]` exactly as ECS sent it.
    pub raw: Value,
}

impl ServiceState {
    pub fn deployment_configuration(&self) -> Option<&Value> {
        self.raw.get("deploymentConfiguration")
    }
}

/// What `UpdateService` asks for.
#[derive(Debug, Clone)]
pub struct ServiceUpdate {
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    pub force_new_deployment: bool,
    pub desired_count: Option<i32>,
    pub deployment_configuration: Option<Value>,
}

/// What `CreateService` asks for beyond the names and the revision (`--create-service`).
#[derive(Debug, Clone, Default)]
pub struct ServiceCreation {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// ENABLED or DISABLED.
    pub assign_public_ip: Option<String>,
    /// Target group ARN, container name, container port.
    pub load_balancer: Option<(String, String, i32)>,
    /// FARGATE, EC2 or EXTERNAL; none leaves it to the cluster's capacity providers.
    pub launch_type: Option<String>,
}

/// A deployment in the service's deployment history (ListServiceDeployments).
#[derive(Debug, Clone)]
pub struct HistoricDeployment {
    pub arn: String,
    pub status: String,
    pub target_revision_arn: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
}

pub struct Ecs {
    client: aws_sdk_ecs::Client,
    /// What the client was built from, for the load balancer's adapter the waiter may need.
    config: Option<AwsConfig>,
}

impl Ecs {
    pub fn new(config: &AwsConfig) -> Self {
        Ecs {
            client: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
            config: Some(config.clone()),
        }
    }

    pub fn from_client(client: aws_sdk_ecs::Client) -> Self {
        Ecs {
            client,
            config: None,
        }
    }

    /// The AWS configuration this client was built from (`None` for a client given as is).
    pub fn config(&self) -> Option<&AwsConfig> {
        self.config.as_ref()
    }

    /// The DescribeTaskDefinition answer (with tags) exactly as AWS sent it.
    pub async fn describe_task_definition(&self, task_definition: &str) -> Result<Value, Error> {
        let capture = CaptureBody::default();
        self.client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| {
                not_found_hint(
                    ApiError::from_sdk("ecs:DescribeTaskDefinition", e),
                    task_definition,
                )
            })?;
        capture.json("ecs:DescribeTaskDefinition")
    }

    /// The family's latest revision, or `None` when the family has none (a first registration).
    pub async fn latest_task_definition(&self, family: &str) -> Result<Option<Value>, Error> {
        let capture = CaptureBody::default();
        let answer = self
            .client
            .describe_task_definition()
            .task_definition(family)
            .include(TaskDefinitionField::Tags)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DescribeTaskDefinition", e));
        match answer {
            Ok(_) => capture.json("ecs:DescribeTaskDefinition").map(Some),
            Err(error) if is_missing_task_definition(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Registers the rendered RegisterTaskDefinition input as is; returns the new ARN.
    pub async fn register_task_definition(&self, input: &Value) -> Result<String, Error> {
        let body = serde_json::to_vec(input)
            .map_err(|e| Error::usage(format!("task definition JSON: {e}")))?;
        let family = input
            .get("family")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let answer = self
            .client
            .register_task_definition()
            .family(family)
            .customize()
            .interceptor(ReplaceBody(Arc::new(body)))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:RegisterTaskDefinition", e))?;
        answer
            .task_definition()
            .and_then(|definition| definition.task_definition_arn())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::environment("ecs:RegisterTaskDefinition answered no task definition ARN")
            })
    }

    /// Every ACTIVE revision of the family (ListTaskDefinitions, every page), ARNs as ECS sent
    /// them.
    pub async fn active_revisions(&self, family: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .client
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:ListTaskDefinitions", e))?)
    }

    /// DeregisterTaskDefinition of one revision.
    pub async fn deregister_task_definition(&self, arn: &str) -> Result<(), Error> {
        self.client
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DeregisterTaskDefinition", e))?;
        Ok(())
    }

    /// DeleteTaskDefinitions of up to 10 INACTIVE revisions; answers the ones ECS refused, each
    /// with its reason.
    pub async fn delete_task_definitions(
        &self,
        arns: &[String],
    ) -> Result<Vec<(String, String)>, Error> {
        let answer = self
            .client
            .delete_task_definitions()
            .set_task_definitions(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DeleteTaskDefinitions", e))?;
        Ok(answer
            .failures()
            .iter()
            .map(|failure| {
                (
                    failure.arn().unwrap_or_default().to_string(),
                    [failure.reason(), failure.detail()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": "),
                )
            })
            .collect())
    }

    /// The ARN of every cluster of the account in the region (ListClusters, every page).
    pub async fn all_clusters(&self) -> Result<Vec<String>, Error> {
        Ok(self
            .client
            .list_clusters()
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:ListClusters", e))?)
    }

    /// The clusters of these names ECS does not know (DescribeClusters's MISSING failures).
    pub async fn missing_clusters(&self, clusters: &[String]) -> Result<Vec<String>, Error> {
        let answer = self
            .client
            .describe_clusters()
            .set_clusters(Some(clusters.to_vec()))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DescribeClusters", e))?;
        let active: Vec<&str> = answer
            .clusters()
            .iter()
            .filter(|cluster| cluster.status() != Some("INACTIVE"))
            .flat_map(|cluster| [cluster.cluster_name(), cluster.cluster_arn()])
            .flatten()
            .collect();
        Ok(clusters
            .iter()
            .filter(|name| !active.contains(&name.as_str()))
            .cloned()
            .collect())
    }

    /// Every service of the cluster as DescribeServices answered it (`services[]`, raw JSON, so
    /// `deployments` and `taskSets` are as ECS sent them): ListServices, every page, then
    /// DescribeServices ten at a time.
    pub async fn cluster_services(&self, cluster: &str) -> Result<Vec<Value>, Error> {
        let arns: Vec<String> = self
            .client
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| cluster_hint(ApiError::from_sdk("ecs:ListServices", e), cluster))?;
        let mut services = Vec::new();
        for chunk in arns.chunks(10) {
            let capture = CaptureBody::default();
            self.client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .customize()
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| {
                    cluster_hint(ApiError::from_sdk("ecs:DescribeServices", e), cluster)
                })?;
            let raw = capture.json("ecs:DescribeServices")?;
            services.extend(raw["services"].as_array().cloned().unwrap_or_default());
        }
        Ok(services)
    }

    /// One RunTask call with the input as planned; answers RunTask's JSON (`tasks`, `failures`).
    pub async fn run_task(&self, input: &Value) -> Result<Value, Error> {
        let body =
            serde_json::to_vec(input).map_err(|e| Error::usage(format!("RunTask JSON: {e}")))?;
        let text = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or_default();
        let capture = CaptureBody::default();
        let sent = self
            .client
            .run_task()
            .cluster(text("cluster"))
            .task_definition(text("taskDefinition"))
            .customize()
            .interceptor(ReplaceBody(Arc::new(body)))
            .interceptor(capture.clone())
            .send()
            .await;
        capture
            .answer("ecs:RunTask", sent)
            .map_err(|e| cluster_hint(e, text("cluster")))
    }

    /// DescribeTasks of these tasks, as ECS sent it; errors keep their kind so a waiter can
    /// back off on throttling.
    pub async fn describe_tasks(&self, cluster: &str, tasks: &[String]) -> Result<Value, ApiError> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(tasks.to_vec()))
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        capture.answer("ecs:DescribeTasks", sent)
    }

    /// Asks ECS to stop the task, saying why.
    pub async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> Result<(), Error> {
        self.client
            .stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:StopTask", e))?;
        Ok(())
    }

    /// The service, or `None` when ECS reports it MISSING.
    pub async fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceState>, Error> {
        let capture = CaptureBody::default();
        let answer = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| cluster_hint(ApiError::from_sdk("ecs:DescribeServices", e), cluster))?;
        let Some(found) = answer.services().first() else {
            return Ok(None);
        };
        let raw = capture.json("ecs:DescribeServices")?;
        Ok(Some(ServiceState {
            snapshot: snapshot(found),
            raw: raw.pointer("/services/0").cloned().unwrap_or(Value::Null),
        }))
    }

    /// The service as the rollout waiter sees it; errors keep their kind so the waiter can
    /// back off on throttling and transient failures.
    pub async fn poll_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceSnapshot>, ApiError> {
        let answer = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DescribeServices", e))?;
        Ok(answer.services().first().map(snapshot))
    }

    /// One UpdateService call; returns the service as ECS answered it.
    pub async fn update_service(&self, update: &ServiceUpdate) -> Result<ServiceSnapshot, Error> {
        let mut body = serde_json::json!({
            "cluster": update.cluster,
            "service": update.service,
            "taskDefinition": update.task_definition_arn,
            "forceNewDeployment": update.force_new_deployment,
        });
        if let Some(count) = update.desired_count {
            body["desiredCount"] = count.into();
        }
        if let Some(configuration) = &update.deployment_configuration {
            body["deploymentConfiguration"] = configuration.clone();
        }
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Error::usage(format!("UpdateService JSON: {e}")))?;
        let answer = self
            .client
            .update_service()
            .cluster(&update.cluster)
            .service(&update.service)
            .customize()
            .interceptor(ReplaceBody(Arc::new(bytes)))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:UpdateService", e))?;
        answer
            .service()
            .map(snapshot)
            .ok_or_else(|| Error::environment("ecs:UpdateService answered no service"))
    }

    /// Creates the service running `task_definition_arn`; answers it as ECS created it.
    pub async fn create_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition_arn: &str,
        desired_count: i32,
        creation: &ServiceCreation,
        circuit_breaker: bool,
    ) -> Result<ServiceSnapshot, Error> {
        use aws_sdk_ecs::types::{
            AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
            LaunchType, LoadBalancer, NetworkConfiguration,
        };
        let mut request = self
            .client
            .create_service()
            .cluster(cluster)
            .service_name(service)
            .task_definition(task_definition_arn)
            .desired_count(desired_count);
        if !creation.subnets.is_empty() {
            let vpc = AwsVpcConfiguration::builder()
                .set_subnets(Some(creation.subnets.clone()))
                .set_security_groups(
                    (!creation.security_groups.is_empty())
                        .then(|| creation.security_groups.clone()),
                )
                .set_assign_public_ip(
                    creation
                        .assign_public_ip
                        .as_deref()
                        .map(AssignPublicIp::from),
                )
                .build()
                .map_err(|e| Error::usage(format!("network configuration: {e}")))?;
            request = request.network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            );
        }
        if let Some((target_group, container, port)) = &creation.load_balancer {
            request = request.load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(target_group)
                    .container_name(container)
                    .container_port(*port)
                    .build(),
            );
        }
        if let Some(launch_type) = &creation.launch_type {
            request = request.launch_type(LaunchType::from(launch_type.as_str()));
        }
        if circuit_breaker {
            request = request.deployment_configuration(
                DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .build(),
            );
        }
        let answer = request
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:CreateService", e))?;
        answer
            .service()
            .map(snapshot)
            .ok_or_else(|| Error::environment("ecs:CreateService answered no service"))
    }

    /// Recently stopped tasks of the service (ECS keeps them for about an hour).
    pub async fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<StoppedTask>, Error> {
        let tasks = self
            .service_tasks(cluster, service, DesiredStatus::Stopped)
            .await?;
        Ok(tasks.iter().map(stopped_task).collect())
    }

    /// The service's tasks with this desired status, as DescribeTasks shows them (up to 100).
    async fn service_tasks(
        &self,
        cluster: &str,
        service: &str,
        desired_status: DesiredStatus,
    ) -> Result<Vec<aws_sdk_ecs::types::Task>, ApiError> {
        let listed = self
            .client
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(desired_status)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:ListTasks", e))?;
        let arns: Vec<String> = listed.task_arns().iter().take(100).cloned().collect();
        if arns.is_empty() {
            return Ok(Vec::new());
        }
        let described = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DescribeTasks", e))?;
        Ok(described.tasks().to_vec())
    }

    /// The service's tasks ECS wants running, with their state and health (up to 100).
    pub async fn running_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<RunningTask>, ApiError> {
        let tasks = self
            .service_tasks(cluster, service, DesiredStatus::Running)
            .await?;
        Ok(tasks
            .iter()
            .map(|task| RunningTask {
                task_arn: task.task_arn().unwrap_or_default().to_string(),
                task_definition_arn: task.task_definition_arn().unwrap_or_default().to_string(),
                started_by: task.started_by().map(str::to_string),
                last_status: task.last_status().unwrap_or_default().to_string(),
                health_status: task.health_status().map(|h| h.as_str().to_string()),
                containers: task
                    .containers()
                    .iter()
                    .map(|container| {
                        (
                            container.name().unwrap_or_default().to_string(),
                            container
                                .health_status()
                                .map(|h| h.as_str().to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
                private_ip: task
                    .attachments()
                    .iter()
                    .filter(|attachment| attachment.r#type() == Some("ElasticNetworkInterface"))
                    .flat_map(|attachment| attachment.details())
                    .find(|detail| detail.name() == Some("privateIPv4Address"))
                    .and_then(|detail| detail.value())
                    .map(str::to_string),
                container_instance_arn: task.container_instance_arn().map(str::to_string),
                host_ports: task
                    .containers()
                    .iter()
                    .flat_map(|container| {
                        let name = container.name().unwrap_or_default().to_string();
                        container
                            .network_bindings()
                            .iter()
                            .filter_map(move |binding| {
                                Some((
                                    name.clone(),
                                    binding.container_port()?,
                                    binding.host_port()?,
                                ))
                            })
                    })
                    .collect(),
            })
            .collect())
    }

    /// The EC2 instance id of each container instance (bridge and host network modes register
    /// instances with the load balancer).
    pub async fn instance_ids(
        &self,
        cluster: &str,
        container_instances: Vec<String>,
    ) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
        if container_instances.is_empty() {
            return Ok(Default::default());
        }
        let answer = self
            .client
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(container_instances))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DescribeContainerInstances", e))?;
        Ok(answer
            .container_instances()
            .iter()
            .filter_map(|instance| {
                Some((
                    instance.container_instance_arn()?.to_string(),
                    instance.ec2_instance_id()?.to_string(),
                ))
            })
            .collect())
    }

    /// The service's deployments of these statuses (e.g. SUCCESSFUL), from every page of
    /// ListServiceDeployments; the API promises no order, so callers sort by `created_at`.
    pub async fn deployment_history(
        &self,
        cluster: &str,
        service: &str,
        statuses: &[&str],
    ) -> Result<Vec<HistoricDeployment>, Error> {
        /// Bounds the walk through a very long history: 50 pages of 100.
        const MAX_PAGES: usize = 50;
        let mut history = Vec::new();
        let mut next_token: Option<String> = None;
        // Every page: the order is not promised, so the newest may be on any of them.
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .list_service_deployments()
                .cluster(cluster)
                .service(service)
                .set_status(Some(
                    statuses
                        .iter()
                        .map(|status| aws_sdk_ecs::types::ServiceDeploymentStatus::from(*status))
                        .collect(),
                ))
                .max_results(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("ecs:ListServiceDeployments", e))?;
            history.extend(page.service_deployments().iter().map(|deployment| {
                HistoricDeployment {
                    arn: deployment
                        .service_deployment_arn()
                        .unwrap_or_default()
                        .to_string(),
                    status: deployment
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    target_revision_arn: deployment
                        .target_service_revision_arn()
                        .map(str::to_string),
                    created_at: time(deployment.created_at()),
                }
            }));
            next_token = page.next_token().map(str::to_string);
            if next_token.is_none() {
                break;
            }
        }
        Ok(history)
    }

    /// One ServiceDeployment as DescribeServiceDeployments answers it; `None` when ECS lists it
    /// among the failures (MISSING). Errors keep their kind: the waiter retries transient ones
    /// and falls back to DescribeServices where the API does not exist.
    pub async fn service_deployment(
        &self,
        arn: &str,
    ) -> Result<Option<ServiceDeployment>, ApiError> {
        const ACTION: &str = "ecs:DescribeServiceDeployments";
        let capture = CaptureBody::default();
        let sent = self
            .client
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let answer = capture.answer(ACTION, sent)?;
        let mut found = service_deployment::parse_answer(&answer).map_err(|message| ApiError {
            action: ACTION,
            kind: super::aws::ApiErrorKind::Other,
            code: None,
            message,
        })?;
        Ok(found
            .iter()
            .position(|deployment| deployment.service_deployment_arn == arn)
            .map(|at| found.swap_remove(at)))
    }

    /// StopServiceDeployment with stop type ROLLBACK: ECS rolls the deployment back.
    pub async fn roll_back_service_deployment(&self, arn: &str) -> Result<(), Error> {
        self.client
            .stop_service_deployment()
            .service_deployment_arn(arn)
            .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:StopServiceDeployment", e))?;
        Ok(())
    }

    /// ContinueServiceDeployment: resumes (CONTINUE) or rolls back (ROLLBACK) a deployment
    /// paused at lifecycle hook `hook_id`.
    pub async fn continue_service_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        roll_back: bool,
    ) -> Result<(), ApiError> {
        use aws_sdk_ecs::types::DeploymentLifecycleHookAction;
        self.client
            .continue_service_deployment()
            .service_deployment_arn(arn)
            .hook_id(hook_id)
            .action(if roll_back {
                DeploymentLifecycleHookAction::Rollback
            } else {
                DeploymentLifecycleHookAction::Continue
            })
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:ContinueServiceDeployment", e))?;
        Ok(())
    }

    /// The task definition a service revision ran.
    pub async fn revision_task_definition(
        &self,
        revision_arn: &str,
    ) -> Result<Option<String>, ApiError> {
        let answer = self
            .client
            .describe_service_revisions()
            .service_revision_arns(revision_arn)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecs:DescribeServiceRevisions", e))?;
        Ok(answer
            .service_revisions()
            .first()
            .and_then(|revision| revision.task_definition())
            .map(str::to_string))
    }
}

/// ECS says a task definition does not exist with a ClientException and these words.
fn is_missing_task_definition(error: &ApiError) -> bool {
    error.is_code("ClientException")
        && error
            .message
            .to_lowercase()
            .contains("unable to describe task definition")
}

fn not_found_hint(error: ApiError, task_definition: &str) -> Error {
    if is_missing_task_definition(&error) {
        Error::usage(format!(
            "task definition {task_definition} does not exist: {}",
            error.message
        ))
        .with_hint("check the family (e.g. tutorial-site-task), the revision and the region")
    } else {
        error.into()
    }
}

fn cluster_hint(error: ApiError, cluster: &str) -> Error {
    if error.is_code("ClusterNotFoundException") {
        Error::usage(format!(
            "cluster {cluster} does not exist: {}",
            error.message
        ))
        .with_hint("check --cluster and the region")
    } else {
        error.into()
    }
}

fn time(value: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    value.and_then(|time| time.fmt(Format::DateTime).ok())
}

fn snapshot(service: &aws_sdk_ecs::types::Service) -> ServiceSnapshot {
    ServiceSnapshot {
        service_name: service.service_name().unwrap_or_default().to_string(),
        service_arn: service.service_arn().map(str::to_string),
        status: service.status().unwrap_or_default().to_string(),
        task_definition: service.task_definition().unwrap_or_default().to_string(),
        desired_count: service.desired_count(),
        running_count: service.running_count(),
        pending_count: service.pending_count(),
        deployments: service
            .deployments()
            .iter()
            .map(|deployment| Deployment {
                id: deployment.id().unwrap_or_default().to_string(),
                status: deployment.status().unwrap_or_default().to_string(),
                task_definition: deployment.task_definition().unwrap_or_default().to_string(),
                desired_count: deployment.desired_count(),
                running_count: deployment.running_count(),
                pending_count: deployment.pending_count(),
                failed_tasks: deployment.failed_tasks(),
                rollout_state: deployment
                    .rollout_state()
                    .map(|state| state.as_str().to_string()),
                rollout_state_reason: deployment.rollout_state_reason().map(str::to_string),
                created_at: time(deployment.created_at()),
                updated_at: time(deployment.updated_at()),
            })
            .collect(),
        events: service
            .events()
            .iter()
            .map(|event| ServiceEvent {
                id: event.id().unwrap_or_default().to_string(),
                created_at: time(event.created_at()),
                message: event.message().unwrap_or_default().to_string(),
            })
            .collect(),
        current_service_deployment: service.current_service_deployment().map(str::to_string),
        load_balancers: service
            .load_balancers()
            .iter()
            .map(|balancer| LoadBalancer {
                target_group_arn: balancer.target_group_arn().map(str::to_string),
                container_name: balancer.container_name().unwrap_or_default().to_string(),
                container_port: balancer.container_port().unwrap_or_default(),
            })
            .collect(),
    }
}

fn stopped_task(task: &aws_sdk_ecs::types::Task) -> StoppedTask {
    StoppedTask {
        task_arn: task.task_arn().unwrap_or_default().to_string(),
        task_definition_arn: task.task_definition_arn().unwrap_or_default().to_string(),
        last_status: task.last_status().unwrap_or_default().to_string(),
        stopped_reason: task.stopped_reason().map(str::to_string),
        stop_code: task.stop_code().map(|code| code.as_str().to_string()),
        stopped_at: time(task.stopped_at()),
        containers: task
            .containers()
            .iter()
            .map(|container| StoppedContainer {
                name: container.name().unwrap_or_default().to_string(),
                exit_code: container.exit_code(),
                reason: container.reason().map(str::to_string),
                last_status: container.last_status().map(str::to_string),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// Answers one HTTP request with `answer`; hands back the request's body.
    fn one_request_server(answer: &'static str) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            body
        });
        (address, handle)
    }

    /// The SDK's typed input knows no field newer than the SDK: deployer sends its own JSON, so
    /// a file's or a revision's unknown fields reach ECS as they are.
    #[tokio::test]
    async fn register_task_definition_sends_the_json_as_it_is() {
        let (endpoint, server) = one_request_server(
            r#"{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:8"}}"#,
        );
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_ecs::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ))
            .endpoint_url(endpoint)
            .build();
        let ecs = Ecs::from_client(aws_sdk_ecs::Client::from_conf(config));
        let input = serde_json::json!({
            "family": "tutorial-site-task",
            "someFutureField": {"enabled": true},
            "cpu": "512",
            "containerDefinitions": [{"name": "tutorial-site-app", "image": "app:v1", "someFutureContainerField": "kept"}]
        });
        let arn = ecs.register_task_definition(&input).await.unwrap();
        assert_eq!(
            arn,
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:8"
        );
        let sent: Value = serde_json::from_slice(&server.join().unwrap()).unwrap();
        assert_eq!(sent, input);
    }
}
