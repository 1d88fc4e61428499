//! Elastic Load Balancing v2 as ECS services see it: DescribeTargetHealth (and, in
//! `elb_listeners`, the listener reads) on the AWS Query
//! protocol (form-encoded parameters in, XML out), for the targets ECS registers: each task of
//! every service whose `loadBalancers` name the target group, by its ENI's address.
use crate::api::Context;
use crate::protocol::ApiError;
use crate::state::{now, State, Task};

pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

/// One target and its health, as DescribeTargetHealth reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHealth {
    pub id: String,
    pub port: Option<i64>,
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub description: Option<&'static str>,
}

impl TargetHealth {
    fn new(id: &str, port: Option<i64>, state: &'static str) -> Self {
        TargetHealth {
            id: id.to_string(),
            port,
            state,
            reason: None,
            description: None,
        }
    }

    fn because(mut self, reason: &'static str, description: &'static str) -> Self {
        self.reason = Some(reason);
        self.description = Some(description);
        self
    }
}

/// Answers one Query request (its form parameters) with the XML of the result.
pub async fn handle(
    context: &Context,
    parameters: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    match parameter("Action").unwrap_or_default() {
        "DescribeTargetHealth" => {
            let target_group = parameter("TargetGroupArn").ok_or_else(|| {
                ApiError::client(
                    "ValidationError",
                    "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null",
                )
            })?;
            let state = context.state.lock().await;
            let targets = describe_target_health(
                &state,
                target_group,
                &requested_targets(parameters),
                context.settings.faults.target_health_delay_ms,
                now(),
            )?;
            Ok(render(&targets, request_id))
        }
        "DescribeRules" => {
            let state = context.state.lock().await;
            super::elb_listeners::describe_rules(&state, parameters, request_id)
        }
        "DescribeListeners" => {
            let state = context.state.lock().await;
            super::elb_listeners::describe_listeners(
                &state,
                &context.settings,
                parameters,
                request_id,
            )
        }
        "DescribeLoadBalancers" => {
            let state = context.state.lock().await;
            super::elb_listeners::describe_load_balancers(
                &state,
                &context.settings,
                parameters,
                request_id,
            )
        }
        other => Err(ApiError::client(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// `Targets.member.N.Id` and `Targets.member.N.Port`, in N's order.
fn requested_targets(parameters: &[(String, String)]) -> Vec<(String, Option<i64>)> {
    let mut members: Vec<(u32, String, Option<i64>)> = Vec::new();
    for (key, value) in parameters {
        let Some(rest) = key.strip_prefix("Targets.member.") else {
            continue;
        };
        let Some((number, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(number) = number.parse::<u32>() else {
            continue;
        };
        let index = match members.iter().position(|(n, _, _)| *n == number) {
            Some(index) => index,
            None => {
                members.push((number, String::new(), None));
                members.len() - 1
            }
        };
        match field {
            "Id" => members[index].1 = value.clone(),
            "Port" => members[index].2 = value.parse().ok(),
            _ => {}
        }
    }
    members.sort_by_key(|(number, _, _)| *number);
    members
        .into_iter()
        .map(|(_, id, port)| (id, port))
        .collect()
}

/// The target group's targets (or only the `requested` ones), as the load balancer sees them at
/// `at`: `initial` until the task is healthy (and `delay_ms` longer, a slow health check), then
/// `healthy`; `draining` once the task is being stopped; gone once it stopped.
pub fn describe_target_health(
    state: &State,
    target_group: &str,
    requested: &[(String, Option<i64>)],
    delay_ms: u64,
    at: f64,
) -> Result<Vec<TargetHealth>, ApiError> {
    let registrations: Vec<(&str, &str, i64)> = state
        .services
        .iter()
        .filter(|service| service.status == "ACTIVE")
        .flat_map(|service| {
            service
                .load_balancers
                .as_array()
                .into_iter()
                .flatten()
                .filter(|entry| entry["targetGroupArn"] == target_group)
                .filter_map(|entry| entry["containerPort"].as_i64())
                .map(|port| (service.cluster.as_str(), service.name.as_str(), port))
        })
        .collect();
    if registrations.is_empty() {
        return Err(ApiError::client(
            "TargetGroupNotFound",
            "One or more target groups not found",
        ));
    }
    let registered: Vec<TargetHealth> = registrations
        .iter()
        .flat_map(|(cluster, service, port)| {
            state
                .tasks
                .iter()
                .filter(|task| {
                    task.cluster == *cluster
                        && task.service == *service
                        && task.last_status != "STOPPED"
                })
                .map(|task| target_health(task, *port, delay_ms, at))
        })
        .collect();
    if requested.is_empty() {
        return Ok(registered);
    }
    Ok(requested
        .iter()
        .flat_map(|(id, port)| {
            let found: Vec<TargetHealth> = registered
                .iter()
                .filter(|target| target.id == *id && port.is_none_or(|p| target.port == Some(p)))
                .cloned()
                .collect();
            if found.is_empty() {
                vec![TargetHealth::new(id, *port, "unused").because(
                    "Target.NotRegistered",
                    "Target is not registered to the target group",
                )]
            } else {
                found
            }
        })
        .collect())
}

fn target_health(task: &Task, port: i64, delay_ms: u64, at: f64) -> TargetHealth {
    let target = TargetHealth::new(&task.network_interface.private_ip, Some(port), "healthy");
    if task.desired_status == "STOPPED" {
        return TargetHealth {
            state: "draining",
            ..target
        }
        .because(
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        );
    }
    match task.healthy_at {
        Some(healthy_at) if at >= healthy_at + delay_ms as f64 / 1000.0 => target,
        Some(_) => TargetHealth {
            state: "initial",
            ..target
        }
        .because(
            "Elb.InitialHealthChecking",
            "Initial health checks in progress",
        ),
        None => TargetHealth {
            state: "initial",
            ..target
        }
        .because(
            "Elb.RegistrationInProgress",
            "Target registration is in progress",
        ),
    }
}

/// The DescribeTargetHealth answer, element for element as ELBv2 writes it.
pub fn render(targets: &[TargetHealth], request_id: &str) -> String {
    let mut members = String::new();
    for target in targets {
        let port = target
            .port
            .map(|port| format!("<Port>{port}</Port>"))
            .unwrap_or_default();
        let health_check_port = target
            .port
            .map(|port| format!("<HealthCheckPort>{port}</HealthCheckPort>"))
            .unwrap_or_default();
        let reason = target
            .reason
            .map(|reason| format!("<Reason>{reason}</Reason>"))
            .unwrap_or_default();
        let description = target
            .description
            .map(|description| format!("<Description>{}</Description>", escape(description)))
            .unwrap_or_default();
        members.push_str(&format!(
            "<member><Target><Id>{}</Id>{port}</Target>{health_check_port}<TargetHealth><State>{}</State>{reason}{description}</TargetHealth></member>",
            escape(&target.id),
            target.state,
        ));
    }
    format!(
        "<DescribeTargetHealthResponse xmlns=\"{NAMESPACE}\"><DescribeTargetHealthResult><TargetHealthDescriptions>{members}</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeTargetHealthResponse>"
    )
}

/// An error in the Query protocol's shape (`Sender` for the caller's faults, `Receiver` for ours).
pub fn render_error(error: &ApiError, request_id: &str) -> String {
    let kind = if error.status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        error.code,
        escape(&error.message),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{NetworkInterface, Service, TaskContainer};
    use serde_json::json;

    const GROUP: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/site/0123456789abcdef";

    fn state_with(tasks: Vec<Task>) -> State {
        let settings = crate::config::Settings::for_tests();
        let mut state = State::new(&settings);
        state.services.push(Service {
            arn: "arn:aws:ecs:eu-west-1:123456789012:service/c/web".into(),
            name: "web".into(),
            cluster: "c".into(),
            task_definition: String::new(),
            desired_count: 1,
            deployment_configuration: json!({}),
            deployments: Vec::new(),
            history: Vec::new(),
            deployment_controller: "ECS".into(),
            events: Vec::new(),
            status: "ACTIVE".into(),
            created_at: 0.0,
            steady_reported: false,
            health_check_grace_period: 0,
            stale: None,
            load_balancers: json!([{"targetGroupArn": GROUP, "containerName": "app", "containerPort": 3000}]),
            placement_failures_left: 0,
            last_placement_failure: 0.0,
            current_service_deployment: String::new(),
        });
        state.tasks = tasks;
        state
    }

    fn task(number: u64, healthy_at: Option<f64>, desired: &str, last: &str) -> Task {
        Task {
            arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/c/{number}"),
            id: number.to_string(),
            cluster: "c".into(),
            service: "web".into(),
            deployment_id: "ecs-svc/1".into(),
            task_definition: String::new(),
            containers: vec![TaskContainer {
                name: "app".into(),
                essential: true,
                id: None,
                last_status: last.into(),
                exit_code: None,
                reason: None,
                has_health: false,
                ..Default::default()
            }],
            last_status: last.into(),
            desired_status: desired.into(),
            healthy: healthy_at.is_some(),
            stopped_reason: None,
            stop_code: None,
            started_at: 0.0,
            stopped_at: None,
            grace_until: 0.0,
            healthy_at,
            network_interface: NetworkInterface::numbered(number),
            ..Default::default()
        }
    }

    #[test]
    fn targets_follow_their_tasks_and_a_stopped_task_is_no_target() {
        let state = state_with(vec![
            task(1, None, "RUNNING", "PENDING"),
            task(2, Some(100.0), "RUNNING", "RUNNING"),
            task(3, Some(100.0), "STOPPED", "RUNNING"),
            task(4, Some(100.0), "STOPPED", "STOPPED"),
        ]);
        let targets = describe_target_health(&state, GROUP, &[], 0, 100.0).unwrap();
        let seen: Vec<(&str, Option<i64>, &str, Option<&str>)> = targets
            .iter()
            .map(|t| (t.id.as_str(), t.port, t.state, t.reason))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "10.0.0.1",
                    Some(3000),
                    "initial",
                    Some("Elb.RegistrationInProgress")
                ),
                ("10.0.0.2", Some(3000), "healthy", None),
                (
                    "10.0.0.3",
                    Some(3000),
                    "draining",
                    Some("Target.DeregistrationInProgress")
                ),
            ]
        );
    }

    #[test]
    fn the_slow_health_check_fault_keeps_a_healthy_task_initial_for_a_while() {
        let state = state_with(vec![task(1, Some(100.0), "RUNNING", "RUNNING")]);
        let at = |seconds: f64| describe_target_health(&state, GROUP, &[], 1500, seconds).unwrap();
        assert_eq!(at(101.0)[0].state, "initial");
        assert_eq!(at(101.0)[0].reason, Some("Elb.InitialHealthChecking"));
        assert_eq!(at(101.5)[0].state, "healthy");
    }

    #[test]
    fn an_unknown_target_group_is_not_found_and_an_unknown_target_unused() {
        let state = state_with(vec![task(1, Some(100.0), "RUNNING", "RUNNING")]);
        let error = describe_target_health(&state, "arn:aws:other", &[], 0, 100.0).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            ("TargetGroupNotFound", "One or more target groups not found")
        );
        let requested = [
            ("10.0.0.1".to_string(), Some(3000)),
            ("10.0.9.9".to_string(), None),
        ];
        let targets = describe_target_health(&state, GROUP, &requested, 0, 100.0).unwrap();
        assert_eq!(targets[0].state, "healthy");
        assert_eq!(
            (targets[1].id.as_str(), targets[1].state, targets[1].reason),
            ("10.0.9.9", "unused", Some("Target.NotRegistered"))
        );
    }

    #[test]
    fn requested_targets_are_read_in_member_order() {
        let parameters: Vec<(String, String)> = [
            ("Action", "DescribeTargetHealth"),
            ("Targets.member.2.Id", "10.0.0.2"),
            ("Targets.member.1.Port", "3000"),
            ("Targets.member.1.Id", "10.0.0.1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            requested_targets(&parameters),
            [
                ("10.0.0.1".to_string(), Some(3000)),
                ("10.0.0.2".to_string(), None)
            ]
        );
    }

    #[test]
    fn the_answer_is_elbv2_xml() {
        let xml = render(
            &[
                TargetHealth::new("10.0.0.1", Some(3000), "initial").because(
                    "Elb.RegistrationInProgress",
                    "Target registration is in progress",
                ),
            ],
            "req-1",
        );
        assert_eq!(
            xml,
            "<DescribeTargetHealthResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeTargetHealthResult><TargetHealthDescriptions><member><Target><Id>10.0.0.1</Id><Port>3000</Port></Target><HealthCheckPort>3000</HealthCheckPort><TargetHealth><State>initial</State><Reason>Elb.RegistrationInProgress</Reason><Description>Target registration is in progress</Description></TargetHealth></member></TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeTargetHealthResponse>"
        );
        let error = render_error(
            &ApiError::client("TargetGroupNotFound", "One or more target groups not found"),
            "req-2",
        );
        assert_eq!(
            error,
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>One or more target groups not found</Message></Error><RequestId>req-2</RequestId></ErrorResponse>"
        );
    }
}
