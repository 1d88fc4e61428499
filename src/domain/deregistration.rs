//! Which revisions of a family `deregister` (and `--keep-revisions`) may let go: the newest N
//! and every revision something still runs or will run are kept, whatever the flags; only the
//! rest are deregistered.
use std::collections::BTreeMap;

use serde_json::Value;

use super::rollout::{family_of, short_task_definition};

/// A revision something uses, and what (for the log and `--output json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The revision as the user names it: an ARN, `family:N`, or a bare family (which runs the
    /// family's newest ACTIVE revision).
    pub task_definition: String,
    pub by: String,
}

/// What deregistration decided, every revision of the family in one list or the other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeregistrationPlan {
    /// Kept revisions, newest first, each with why.
    pub kept: Vec<(String, String)>,
    /// Revisions to deregister, newest first.
    pub deregister: Vec<String>,
}

/// The revision number of a task definition ARN or `family:N`; `None` for a bare family.
pub fn revision_number(task_definition: &str) -> Option<u32> {
    short_task_definition(task_definition)
        .rsplit_once(':')
        .and_then(|(_, number)| number.parse().ok())
}

/// Every revision the services run or are deploying: each of their `deployments` (PRIMARY,
/// ACTIVE, whatever the rollout state) and, for services that CodeDeploy or an external
/// controller deploys, each of their `taskSets` (DescribeServices's `services`).
pub fn used_by_services(services: &[Value]) -> Vec<Use> {
    let mut uses = Vec::new();
    for service in services {
        let name = service["serviceName"].as_str().unwrap_or("?");
        let cluster = service["clusterArn"]
            .as_str()
            .map(|arn| arn.rsplit('/').next().unwrap_or(arn))
            .unwrap_or("?");
        let mut add = |task_definition: Option<&str>, what: String| {
            if let Some(task_definition) = task_definition {
                uses.push(Use {
                    task_definition: task_definition.to_string(),
                    by: what,
                });
            }
        };
        add(
            service["taskDefinition"].as_str(),
            format!("service {cluster}/{name}"),
        );
        for deployment in service["deployments"].as_array().into_iter().flatten() {
            add(
                deployment["taskDefinition"].as_str(),
                format!(
                    "service {cluster}/{name} ({} deployment)",
                    deployment["status"].as_str().unwrap_or("?")
                ),
            );
        }
        for task_set in service["taskSets"].as_array().into_iter().flatten() {
            add(
                task_set["taskDefinition"].as_str(),
                format!(
                    "service {cluster}/{name} ({} task set)",
                    task_set["status"].as_str().unwrap_or("?")
                ),
            );
        }
    }
    uses
}

/// Keeps the newest `keep` of the family's ACTIVE revisions and every one in use; the rest go.
/// A use naming the bare family keeps the newest revision (ECS runs the latest ACTIVE one).
/// `keep` 0 keeps only what is in use.
pub fn plan(family: &str, active: &[String], keep: usize, uses: &[Use]) -> DeregistrationPlan {
    let mut revisions: Vec<(u32, &String)> = active
        .iter()
        .filter(|arn| family_of(arn) == family)
        .filter_map(|arn| Some((revision_number(arn)?, arn)))
        .collect();
    revisions.sort_by_key(|(number, _)| std::cmp::Reverse(*number));
    revisions.dedup_by_key(|(number, _)| *number);
    let mut why: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let newest = revisions.first().map(|(number, _)| *number);
    for used in uses
        .iter()
        .filter(|used| family_of(&used.task_definition) == family)
    {
        if let Some(number) = revision_number(&used.task_definition).or(newest) {
            let reasons = why.entry(number).or_default();
            if !reasons.contains(&used.by) {
                reasons.push(used.by.clone());
            }
        }
    }
    let mut plan = DeregistrationPlan::default();
    for (position, (number, arn)) in revisions.into_iter().enumerate() {
        let mut reasons = Vec::new();
        if position < keep {
            reasons.push(format!("one of the newest {keep}"));
        }
        if let Some(uses) = why.get(&number) {
            reasons.push(format!("in use by {}", uses.join(", ")));
        }
        if reasons.is_empty() {
            plan.deregister.push(arn.clone());
        } else {
            plan.kept.push((arn.clone(), reasons.join("; ")));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PREFIX: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/";

    fn arn(revision: u32) -> String {
        format!("{PREFIX}tutorial-site-task:{revision}")
    }

    /// ListTaskDefinitions's answer for the family (ASC, as ECS sorts by default).
    fn listed() -> Vec<String> {
        let answer = json!({"taskDefinitionArns": (1..=8).map(arn).collect::<Vec<_>>()});
        answer["taskDefinitionArns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arn| arn.as_str().unwrap().to_string())
            .collect()
    }

    /// DescribeServices's `services` for a service mid-deployment from revision 3 to 5, and a
    /// CodeDeploy service with two task sets.
    fn services() -> Vec<Value> {
        let answer = json!({"services": [
            {
                "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/tutorial-site-cluster/tutorial-site-service",
                "serviceName": "tutorial-site-service",
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
                "status": "ACTIVE",
                "taskDefinition": arn(5),
                "deploymentController": {"type": "ECS"},
                "deployments": [
                    {"id": "ecs-svc/0987654321", "status": "PRIMARY", "taskDefinition": arn(5), "desiredCount": 2, "runningCount": 0, "rolloutState": "IN_PROGRESS"},
                    {"id": "ecs-svc/1234567890", "status": "ACTIVE", "taskDefinition": arn(3), "desiredCount": 2, "runningCount": 2, "rolloutState": "COMPLETED"}
                ]
            },
            {
                "serviceName": "tutorial-site-blue-green",
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
                "taskDefinition": arn(2),
                "deploymentController": {"type": "CODE_DEPLOY"},
                "deployments": [],
                "taskSets": [
                    {"id": "ecs-svc/1111", "status": "PRIMARY", "taskDefinition": arn(2)},
                    {"id": "ecs-svc/2222", "status": "ACTIVE", "taskDefinition": arn(1)}
                ]
            },
            {
                "serviceName": "tutorial-site-worker",
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
                "taskDefinition": format!("{PREFIX}tutorial-site-task-worker:4"),
                "deployments": [{"status": "PRIMARY", "taskDefinition": format!("{PREFIX}tutorial-site-task-worker:4")}]
            }
        ]});
        answer["services"].as_array().unwrap().clone()
    }

    #[test]
    fn the_newest_and_every_deployment_and_task_set_are_kept() {
        let plan = plan(
            "tutorial-site-task",
            &listed(),
            2,
            &used_by_services(&services()),
        );
        assert_eq!(plan.deregister, [arn(6), arn(4)]);
        let kept: Vec<&str> = plan.kept.iter().map(|(arn, _)| arn.as_str()).collect();
        assert_eq!(kept, [arn(8), arn(7), arn(5), arn(3), arn(2), arn(1)]);
        let why: BTreeMap<String, String> = plan.kept.into_iter().collect();
        assert_eq!(why[&arn(8)], "one of the newest 2");
        assert_eq!(
            why[&arn(5)],
            "in use by service tutorial-site-cluster/tutorial-site-service, service tutorial-site-cluster/tutorial-site-service (PRIMARY deployment)"
        );
        assert_eq!(
            why[&arn(3)],
            "in use by service tutorial-site-cluster/tutorial-site-service (ACTIVE deployment)"
        );
        assert!(why[&arn(1)].contains("(ACTIVE task set)"));
    }

    /// A keep of 0 still keeps what runs; another family's revisions are never touched.
    #[test]
    fn keep_zero_keeps_only_what_is_in_use() {
        let mut listed = listed();
        listed.push(format!("{PREFIX}tutorial-site-task-worker:4"));
        let plan = plan(
            "tutorial-site-task",
            &listed,
            0,
            &used_by_services(&services()),
        );
        assert_eq!(plan.deregister, [arn(8), arn(7), arn(6), arn(4)]);
        assert_eq!(plan.kept.len(), 4);
    }

    /// A rule target or schedule may name the bare family: ECS runs its newest ACTIVE revision.
    #[test]
    fn a_use_of_the_bare_family_keeps_the_newest_and_short_names_count() {
        let uses = [
            Use {
                task_definition: "tutorial-site-task".into(),
                by: "rule tutorial-site-nightly target report".into(),
            },
            Use {
                task_definition: "tutorial-site-task:2".into(),
                by: "schedule default/tutorial-site-report".into(),
            },
        ];
        let plan = plan("tutorial-site-task", &listed()[..4], 0, &uses);
        assert_eq!(plan.deregister, [arn(3), arn(1)]);
        assert_eq!(
            plan.kept,
            [
                (
                    arn(4),
                    "in use by rule tutorial-site-nightly target report".to_string()
                ),
                (
                    arn(2),
                    "in use by schedule default/tutorial-site-report".to_string()
                )
            ]
        );
    }

    #[test]
    fn nothing_listed_plans_nothing() {
        assert_eq!(
            plan("tutorial-site-task", &[], 3, &[]),
            DeregistrationPlan::default()
        );
        assert_eq!(revision_number(&arn(12)), Some(12));
        assert_eq!(revision_number("tutorial-site-task"), None);
    }
}
