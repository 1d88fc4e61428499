//! AWS CodeDeploy: the application and deployment group a CODE_DEPLOY service deploys through,
//! its deployments and their ECS target, read as the JSON CodeDeploy sent.
use super::recorder::Recorder;
use aws_sdk_codedeploy::types::{AppSpecContent, RevisionLocation, RevisionLocationType};
use serde_json::Value;

use super::aws::{ApiError, AwsConfig};
use super::raw_json::CaptureBody;
use crate::error::Error;

pub struct CodeDeploy {
    client: aws_sdk_codedeploy::Client,
}

/// What CreateDeployment asks for.
#[derive(Debug, Clone)]
pub struct DeploymentRequest {
    pub application: String,
    pub deployment_group: String,
    pub deployment_config: Option<String>,
    /// The AppSpec's JSON content and its SHA-256.
    pub appspec: String,
    pub sha256: String,
    pub description: String,
}

/// A name CodeDeploy does not know is the user's to fix: nothing has changed yet.
fn missing(error: ApiError, what: String, hint: &str) -> Error {
    match error.code.as_deref() {
        Some(code) if code.ends_with("DoesNotExistException") => {
            Error::usage(format!("{what} does not exist: {}", error.message)).with_hint(hint)
        }
        _ => error.into(),
    }
}

impl CodeDeploy {
    pub fn new(config: &AwsConfig) -> Self {
        CodeDeploy {
            client: aws_sdk_codedeploy::Client::from_conf(
                aws_sdk_codedeploy::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
        }
    }

    /// GetApplication's `application`.
    pub async fn application(&self, application: &str) -> Result<Value, Error> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .get_application()
            .application_name(application)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let answer = capture
            .answer("codedeploy:GetApplication", sent)
            .map_err(|e| {
                missing(
                    e,
                    format!("CodeDeploy application {application}"),
                    "check --codedeploy-application (the orb's codedeploy_application_name)",
                )
            })?;
        Ok(answer["application"].clone())
    }

    /// GetDeploymentGroup's `deploymentGroupInfo`.
    pub async fn deployment_group(&self, application: &str, group: &str) -> Result<Value, Error> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .get_deployment_group()
            .application_name(application)
            .deployment_group_name(group)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let answer = capture
            .answer("codedeploy:GetDeploymentGroup", sent)
            .map_err(|e| {
                missing(
                    e,
                    format!("deployment group {group} of CodeDeploy application {application}"),
                    "check --codedeploy-deployment-group (the orb's codedeploy_deployment_group_name)",
                )
            })?;
        Ok(answer["deploymentGroupInfo"].clone())
    }

    /// GetDeploymentConfig's `deploymentConfigInfo.trafficRoutingConfig`.
    pub async fn traffic_routing(&self, config_name: &str) -> Result<Value, ApiError> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .get_deployment_config()
            .deployment_config_name(config_name)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let answer = capture.answer("codedeploy:GetDeploymentConfig", sent)?;
        Ok(answer["deploymentConfigInfo"]["trafficRoutingConfig"].clone())
    }

    /// CreateDeployment with the AppSpec as content; returns the deployment id.
    pub async fn create_deployment(&self, request: &DeploymentRequest) -> Result<String, Error> {
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(
                AppSpecContent::builder()
                    .content(&request.appspec)
                    .sha256(&request.sha256)
                    .build(),
            )
            .build();
        let answer = self
            .client
            .create_deployment()
            .application_name(&request.application)
            .deployment_group_name(&request.deployment_group)
            .set_deployment_config_name(request.deployment_config.clone())
            .description(&request.description)
            .revision(revision)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("codedeploy:CreateDeployment", e))?;
        answer.deployment_id().map(str::to_string).ok_or_else(|| {
            Error::environment("CodeDeploy answered CreateDeployment without a deployment id")
        })
    }

    /// GetDeployment's `deploymentInfo`.
    pub async fn deployment(&self, deployment_id: &str) -> Result<Value, ApiError> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .get_deployment()
            .deployment_id(deployment_id)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let answer = capture.answer("codedeploy:GetDeployment", sent)?;
        Ok(answer["deploymentInfo"].clone())
    }

    /// The deployment's target ids (one for an ECS deployment: the service).
    pub async fn targets(&self, deployment_id: &str) -> Result<Vec<String>, ApiError> {
        let answer = self
            .client
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("codedeploy:ListDeploymentTargets", e))?;
        Ok(answer.target_ids().to_vec())
    }

    /// GetDeploymentTarget's `deploymentTarget.ecsTarget`.
    pub async fn ecs_target(
        &self,
        deployment_id: &str,
        target_id: &str,
    ) -> Result<Value, ApiError> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .get_deployment_target()
            .deployment_id(deployment_id)
            .target_id(target_id)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        let answer = capture.answer("codedeploy:GetDeploymentTarget", sent)?;
        Ok(answer["deploymentTarget"]["ecsTarget"].clone())
    }

    /// StopDeployment with automatic rollback; returns CodeDeploy's status and message.
    pub async fn stop_with_rollback(&self, deployment_id: &str) -> Result<String, ApiError> {
        let answer = self
            .client
            .stop_deployment()
            .deployment_id(deployment_id)
            .auto_rollback_enabled(true)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("codedeploy:StopDeployment", e))?;
        let status = answer.status().map(|s| s.as_str()).unwrap_or("Pending");
        Ok(match answer.status_message() {
            Some(message) => format!("{status}: {message}"),
            None => status.to_string(),
        })
    }

    /// ContinueDeployment of a deployment waiting in Ready (`deploymentWaitType` READY_WAIT):
    /// CodeDeploy reroutes production traffic.
    pub async fn continue_ready(&self, deployment_id: &str) -> Result<(), ApiError> {
        self.client
            .continue_deployment()
            .deployment_id(deployment_id)
            .deployment_wait_type(aws_sdk_codedeploy::types::DeploymentWaitType::ReadyWait)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("codedeploy:ContinueDeployment", e))?;
        Ok(())
    }
}
