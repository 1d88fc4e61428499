//! What the ECS handlers share: the cluster a request names, and ECS's parameter error.
use serde_json::Value;

use crate::protocol::ApiError;
use crate::state::State;

/// An InvalidParameterException with ECS's message.
pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterException", message)
}

pub(crate) fn cluster_missing() -> ApiError {
    ApiError::client("ClusterNotFoundException", "Cluster not found.")
}

pub(crate) fn existing_cluster(state: &State, input: &Value) -> Result<String, ApiError> {
    let name = State::cluster_name(input.get("cluster").and_then(Value::as_str));
    if state.clusters.contains_key(&name) {
        Ok(name)
    } else {
        Err(cluster_missing())
    }
}

/// A RegisterTaskDefinition input with one container, for the tests.
#[cfg(test)]
pub(crate) fn minimal(container: Value) -> Value {
    serde_json::json!({"family": "f", "memory": "512", "containerDefinitions": [container]})
}
