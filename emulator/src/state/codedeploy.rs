//! CodeDeploy's records: applications, deployment groups and deployments (each pointing at
//! the ECS deployment that runs it). Data only; the API is `api::codedeploy`.
use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Default)]
pub struct CodeDeployState {
    /// By name: the application as GetApplication answers it.
    pub applications: BTreeMap<String, Value>,
    /// By (application, group): the group as GetDeploymentGroup answers it.
    pub groups: BTreeMap<(String, String), Value>,
    pub deployments: Vec<CodeDeployment>,
}

#[derive(Debug, Clone)]
pub struct CodeDeployment {
    pub id: String,
    pub application: String,
    pub group: String,
    pub config_name: String,
    pub revision: Value,
    pub description: String,
    pub created_at: f64,
    /// The cluster and service deployed, and the ECS deployment that runs it.
    pub cluster: String,
    pub service: String,
    pub ecs_deployment: String,
    /// StopDeployment was called (with automatic rollback or not).
    pub stopped: Option<bool>,
}
