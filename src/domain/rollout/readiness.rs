//! `--wait-until running`: whether our deployment's tasks all run and are healthy, and are
//! healthy targets of every target group of the service.
use std::collections::BTreeMap;

use super::arn::same_task_definition;
use super::snapshot::{LoadBalancer, RunningTask, Target, TargetHealth};

/// Whether our deployment's tasks are all running and healthy: `Err` says what is not yet.
/// `health_checked` names the containers whose definition has a health check; theirs must be
/// HEALTHY (ECS reports UNKNOWN both before the first check and without one).
pub fn tasks_ready(
    tasks: &[RunningTask],
    target: &Target,
    desired: i32,
    health_checked: &[String],
) -> Result<(), String> {
    let ours = ours(tasks, target);
    if (ours.len() as i32) < desired {
        return Err(format!(
            "{} of {desired} tasks of ours are listed",
            ours.len()
        ));
    }
    for task in ours {
        let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
        if task.last_status != "RUNNING" {
            return Err(format!("task {id} is {}", task.last_status));
        }
        for (name, health) in &task.containers {
            if health == "UNHEALTHY" || (health_checked.contains(name) && health != "HEALTHY") {
                return Err(format!(
                    "container {name} of task {id} is {}",
                    if health.is_empty() {
                        "not checked yet"
                    } else {
                        health
                    }
                ));
            }
        }
    }
    Ok(())
}

/// The tasks of our deployment (`startedBy` is a service task's deployment id).
pub fn ours<'a>(tasks: &'a [RunningTask], target: &Target) -> Vec<&'a RunningTask> {
    tasks
        .iter()
        .filter(|task| match &task.started_by {
            Some(started_by) if started_by.starts_with("ecs-svc/") => {
                *started_by == target.deployment_id
            }
            _ => same_task_definition(&task.task_definition_arn, &target.task_definition_arn),
        })
        .collect()
}

/// Whether every task of ours is a healthy target of every target group of the service:
/// `Err` says which is not yet. `health` holds DescribeTargetHealth per target group;
/// `instances` maps container instance ARNs to EC2 instance ids (bridge and host modes).
pub fn targets_ready(
    ours: &[&RunningTask],
    load_balancers: &[LoadBalancer],
    health: &BTreeMap<String, Vec<TargetHealth>>,
    instances: &BTreeMap<String, String>,
) -> Result<(), String> {
    for balancer in load_balancers {
        let Some(group) = &balancer.target_group_arn else {
            continue;
        };
        // `…:targetgroup/NAME/ID` reads as NAME.
        let group_name = group
            .split_once("targetgroup/")
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or(group);
        let registered = health.get(group).map(Vec::as_slice).unwrap_or_default();
        for task in ours {
            let id = task.task_arn.rsplit('/').next().unwrap_or(&task.task_arn);
            let (target_id, port) = match &task.private_ip {
                Some(ip) => (ip.clone(), balancer.container_port),
                None => {
                    let instance = task
                        .container_instance_arn
                        .as_ref()
                        .and_then(|arn| instances.get(arn))
                        .ok_or_else(|| {
                            format!("task {id} has no address or instance for {group_name} yet")
                        })?;
                    let host_port = task
                        .host_ports
                        .iter()
                        .find(|(name, container_port, _)| {
                            *name == balancer.container_name
                                && *container_port == balancer.container_port
                        })
                        .map(|(_, _, host_port)| *host_port)
                        .ok_or_else(|| {
                            format!(
                                "task {id} has no host port for {}:{} yet",
                                balancer.container_name, balancer.container_port
                            )
                        })?;
                    (instance.clone(), host_port)
                }
            };
            let described = registered
                .iter()
                .find(|health| health.id == target_id && health.port.is_none_or(|p| p == port));
            match described {
                Some(health) if health.state == "healthy" => {}
                Some(health) => {
                    return Err(format!(
                        "target {target_id}:{port} of task {id} in {group_name} is {}{}",
                        health.state,
                        health
                            .reason
                            .as_deref()
                            .map_or(String::new(), |reason| format!(" ({reason})"))
                    ))
                }
                None => {
                    return Err(format!(
                        "task {id} is not registered in {group_name} yet ({target_id}:{port})"
                    ))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rollout::fixtures::*;

    fn task(id: &str, private_ip: Option<&str>) -> RunningTask {
        RunningTask {
            task_arn: format!("arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/{id}"),
            task_definition_arn: NEW.into(),
            started_by: Some(OURS.into()),
            last_status: "RUNNING".into(),
            health_status: Some("HEALTHY".into()),
            containers: vec![("tutorial-site-app".into(), "HEALTHY".into())],
            private_ip: private_ip.map(str::to_string),
            container_instance_arn: Some(
                "arn:aws:ecs:eu-west-1:123456789012:container-instance/tutorial-site-cluster/ci-1"
                    .into(),
            ),
            host_ports: vec![("tutorial-site-app".into(), 3000, 32768)],
        }
    }

    const GROUP: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site-tg/6d0ecf831eec9f09";

    fn balancers() -> Vec<LoadBalancer> {
        vec![LoadBalancer {
            target_group_arn: Some(GROUP.into()),
            container_name: "tutorial-site-app".into(),
            container_port: 3000,
        }]
    }

    fn health(
        id: &str,
        port: i32,
        state: &str,
        reason: Option<&str>,
    ) -> BTreeMap<String, Vec<TargetHealth>> {
        BTreeMap::from([(
            GROUP.to_string(),
            vec![TargetHealth {
                id: id.into(),
                port: Some(port),
                state: state.into(),
                reason: reason.map(str::to_string),
            }],
        )])
    }

    #[test]
    fn awsvpc_tasks_are_ready_when_their_ip_target_is_healthy() {
        let tasks = [task("0a1b", Some("10.0.1.17"))];
        let ours: Vec<&RunningTask> = tasks.iter().collect();
        let none = BTreeMap::new();
        assert_eq!(
            targets_ready(
                &ours,
                &balancers(),
                &health("10.0.1.17", 3000, "healthy", None),
                &none
            ),
            Ok(())
        );
        assert_eq!(
            targets_ready(
                &ours,
                &balancers(),
                &health("10.0.1.17", 3000, "initial", Some("Elb.RegistrationInProgress")),
                &none
            ),
            Err("target 10.0.1.17:3000 of task 0a1b in tutorial-site-tg is initial (Elb.RegistrationInProgress)".into())
        );
        let elsewhere = targets_ready(
            &ours,
            &balancers(),
            &health("10.0.9.9", 3000, "healthy", None),
            &none,
        );
        assert!(elsewhere.unwrap_err().contains("not registered"));
        // A Classic Load Balancer has no target group to ask.
        let classic = vec![LoadBalancer {
            target_group_arn: None,
            container_name: "tutorial-site-app".into(),
            container_port: 3000,
        }];
        assert_eq!(
            targets_ready(&ours, &classic, &BTreeMap::new(), &none),
            Ok(())
        );
    }

    #[test]
    fn bridge_tasks_are_targets_by_instance_and_host_port() {
        let tasks = [task("0a1b", None)];
        let ours: Vec<&RunningTask> = tasks.iter().collect();
        let instances = BTreeMap::from([(
            "arn:aws:ecs:eu-west-1:123456789012:container-instance/tutorial-site-cluster/ci-1"
                .to_string(),
            "i-0123456789abcdef0".to_string(),
        )]);
        assert_eq!(
            targets_ready(
                &ours,
                &balancers(),
                &health("i-0123456789abcdef0", 32768, "healthy", None),
                &instances
            ),
            Ok(())
        );
        let wrong_port = targets_ready(
            &ours,
            &balancers(),
            &health("i-0123456789abcdef0", 3000, "healthy", None),
            &instances,
        );
        assert!(wrong_port.is_err());
        let unknown_instance = targets_ready(
            &ours,
            &balancers(),
            &health("i-0123456789abcdef0", 32768, "healthy", None),
            &BTreeMap::new(),
        );
        assert!(unknown_instance
            .unwrap_err()
            .contains("no address or instance"));
    }
}
