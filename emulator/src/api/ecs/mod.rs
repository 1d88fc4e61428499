//! The ECS API: clusters here; task definitions, services, tasks and service deployments in
//! their own modules. Rollouts themselves are driven by the engine's runner; these handlers
//! only record what was asked. Only `router` imports it (and `codedeploy`, which continues
//! ECS deployments as ContinueServiceDeployment does).
mod express;
pub mod service_deployments;
mod services;
mod shared;
mod task_definitions;
mod tasks;

use serde_json::{json, Value};

use crate::api::Context;
use crate::protocol::{Answer, ApiError};
use crate::state::State;
use express::{
    create_express_gateway_service, describe_express_gateway_service,
    update_express_gateway_service,
};
use service_deployments::{
    continue_service_deployment, describe_service_deployments, describe_service_revisions,
    list_service_deployments, stop_service_deployment,
};
use services::{create_service, describe_services, list_services, update_service};
use task_definitions::{
    delete_task_definitions, deregister_task_definition, describe_task_definition,
    list_task_definitions, register_task_definition,
};
use tasks::{describe_tasks, list_tasks, run_task, stop_task};

pub async fn handle(context: &Context, operation: &str, input: &Value) -> Answer {
    let mut state = context.state.lock().await;
    match operation {
        "CreateCluster" => create_cluster(&mut state, input),
        "DescribeClusters" => describe_clusters(&state, input),
        "ListClusters" => list_clusters(&state, input),
        "RegisterTaskDefinition" => register_task_definition(&mut state, input),
        "DescribeTaskDefinition" => describe_task_definition(&state, input),
        "ListTaskDefinitions" => list_task_definitions(&state, input),
        "DeregisterTaskDefinition" => deregister_task_definition(&mut state, input),
        "DeleteTaskDefinitions" => delete_task_definitions(&mut state, input),
        "ListServices" => list_services(&state, input),
        "CreateService" => create_service(&mut state, input, &context.settings.faults),
        "UpdateService" => update_service(&mut state, input, &context.settings.faults),
        "DescribeServices" => describe_services(&mut state, input),
        "ListTasks" => list_tasks(&state, input),
        "DescribeTasks" => describe_tasks(&state, input),
        "StopTask" => stop_task(&mut state, input),
        "RunTask" => run_task(&mut state, input),
        "ListServiceDeployments" => list_service_deployments(&state, input),
        "DescribeServiceRevisions" => describe_service_revisions(&state, input),
        "DescribeServiceDeployments" => {
            describe_service_deployments(&context.settings, &state, input)
        }
        "StopServiceDeployment" => stop_service_deployment(&mut state, input),
        "ContinueServiceDeployment" => continue_service_deployment(&mut state, input),
        "CreateExpressGatewayService" => {
            create_express_gateway_service(&mut state, input, &context.settings.faults)
        }
        "DescribeExpressGatewayService" => describe_express_gateway_service(&state, input),
        "UpdateExpressGatewayService" => {
            update_express_gateway_service(&mut state, input, &context.settings.faults)
        }
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("the emulator does not implement ECS {other}"),
        )),
    }
}

fn create_cluster(state: &mut State, input: &Value) -> Answer {
    let name = input
        .get("clusterName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    let arn = state.arn("cluster", &name);
    state.clusters.insert(name.clone(), arn.clone());
    Ok(json!({"cluster": {"clusterArn": arn, "clusterName": name, "status": "ACTIVE"}}))
}

/// ListClusters: every cluster's ARN, in pages of `maxResults` (1 to 100, default 100, as the
/// API reference says).
fn list_clusters(state: &State, input: &Value) -> Answer {
    let page_size = match input.get("maxResults").and_then(Value::as_i64) {
        None => 100,
        Some(size @ 1..=100) => size as usize,
        Some(_) => {
            return Err(ApiError::client(
                "InvalidParameterException",
                "maxResults must be between 1 and 100.",
            ))
        }
    };
    let start = match input.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::client("InvalidParameterException", "Invalid nextToken."))?,
    };
    let arns: Vec<&String> = state.clusters.values().collect();
    let mut answer =
        json!({"clusterArns": arns.iter().skip(start).take(page_size).collect::<Vec<_>>()});
    if start + page_size < arns.len() {
        answer["nextToken"] = json!((start + page_size).to_string());
    }
    Ok(answer)
}

fn describe_clusters(state: &State, input: &Value) -> Answer {
    let names: Vec<String> = input
        .get("clusters")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(|c| State::cluster_name(Some(c)))
                .collect()
        })
        .unwrap_or_else(|| vec!["default".into()]);
    let (found, missing): (Vec<_>, Vec<_>) = names
        .iter()
        .partition(|name| state.clusters.contains_key(*name));
    Ok(json!({
        "clusters": found.iter().map(|name| json!({"clusterArn": state.clusters[*name], "clusterName": name, "status": "ACTIVE"})).collect::<Vec<_>>(),
        "failures": missing.iter().map(|name| json!({"arn": state.arn("cluster", name), "reason": "MISSING"})).collect::<Vec<_>>(),
    }))
}
