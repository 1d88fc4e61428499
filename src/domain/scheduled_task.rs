//! Scheduled tasks that follow a family to its new revision: the ECS targets of an EventBridge
//! rule and EventBridge Scheduler schedules, re-sent exactly as AWS answered them but for the
//! task definition ARN, so no setting of theirs is lost (PutTargets and UpdateSchedule replace
//! what they are given whole).
use serde_json::{Map, Value};

use super::rollout::{family_of, short_task_definition};

/// The rule's targets that run a task of `family` (ListTargetsByRule's `Targets`), each with
/// every field as it was but `EcsParameters.TaskDefinitionArn`, which becomes `new_arn`.
pub fn retarget_rule_targets(targets: &[Value], family: &str, new_arn: &str) -> Vec<Value> {
    targets
        .iter()
        .filter(|target| {
            target
                .pointer("/EcsParameters/TaskDefinitionArn")
                .and_then(Value::as_str)
                .is_some_and(|arn| family_of(arn) == family)
        })
        .map(|target| {
            let mut target = target.clone();
            target["EcsParameters"]["TaskDefinitionArn"] = Value::String(new_arn.to_string());
            target
        })
        .collect()
}

/// What the targets of a rule run, for an error that says why none of them is this family's.
pub fn describe_targets(targets: &[Value]) -> String {
    if targets.is_empty() {
        return "it has no targets".to_string();
    }
    let described: Vec<String> = targets
        .iter()
        .map(|target| {
            let id = target["Id"].as_str().unwrap_or("?");
            match target
                .pointer("/EcsParameters/TaskDefinitionArn")
                .and_then(Value::as_str)
            {
                Some(arn) => format!("{id} runs {}", short_task_definition(arn)),
                None => format!(
                    "{id} is not an ECS task ({})",
                    target["Arn"].as_str().unwrap_or("?")
                ),
            }
        })
        .collect();
    format!("its targets: {}", described.join(", "))
}

/// GetSchedule's answer fields that UpdateSchedule does not take (the name goes in the path).
const SCHEDULE_READ_ONLY_FIELDS: &[&str] = &["Arn", "Name", "CreationDate", "LastModificationDate"];

/// Why a schedule cannot follow the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleMismatch {
    NotEcs { target_arn: String },
    OtherFamily { task_definition: String },
}

impl std::fmt::Display for ScheduleMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleMismatch::NotEcs { target_arn } => {
                write!(f, "its target is not an ECS task ({target_arn})")
            }
            ScheduleMismatch::OtherFamily { task_definition } => write!(
                f,
                "it runs {}, of another family",
                short_task_definition(task_definition)
            ),
        }
    }
}

/// The UpdateSchedule input that keeps every field of the schedule (GetSchedule's answer) and
/// points its ECS target at `new_arn`, when its target runs a task of `family`.
pub fn schedule_update_input(
    schedule: &Value,
    family: &str,
    new_arn: &str,
) -> Result<Value, ScheduleMismatch> {
    let current = schedule
        .pointer("/Target/EcsParameters/TaskDefinitionArn")
        .and_then(Value::as_str)
        .ok_or_else(|| ScheduleMismatch::NotEcs {
            target_arn: schedule
                .pointer("/Target/Arn")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        })?;
    if family_of(current) != family {
        return Err(ScheduleMismatch::OtherFamily {
            task_definition: current.to_string(),
        });
    }
    let mut input: Map<String, Value> = schedule
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, value)| {
            !value.is_null() && !SCHEDULE_READ_ONLY_FIELDS.contains(&key.as_str())
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    input["Target"]["EcsParameters"]["TaskDefinitionArn"] = Value::String(new_arn.to_string());
    Ok(Value::Object(input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:8";

    #[test]
    fn families_of_arns_and_short_names() {
        assert_eq!(
            family_of("arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7"),
            "tutorial-site-task"
        );
        assert_eq!(family_of("tutorial-site-task:7"), "tutorial-site-task");
        assert_eq!(family_of("tutorial-site-task"), "tutorial-site-task");
        assert_eq!(
            family_of("arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task"),
            "tutorial-site-task"
        );
    }

    /// ListTargetsByRule as AWS answers it for a rule with a nightly job, another family's job
    /// and a Lambda function.
    fn targets() -> Vec<Value> {
        json!([
            {"Id": "nightly-report", "Arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
             "RoleArn": "arn:aws:iam::123456789012:role/ecsEventsRole",
             "Input": "{\"containerOverrides\":[{\"name\":\"tutorial-site-app\",\"command\":[\"report\"]}]}",
             "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
                 "TaskCount": 1, "LaunchType": "FARGATE", "PlatformVersion": "LATEST",
                 "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["sg-0a1b2c3d"], "AssignPublicIp": "DISABLED"}},
                 "EnableECSManagedTags": true, "PropagateTags": "TASK_DEFINITION", "Tags": [{"key": "job", "value": "report"}]},
             "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
             "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:dlq"}},
            {"Id": "other-job", "Arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
             "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task-worker:3", "TaskCount": 1}},
            {"Id": "notify", "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:notify"}
        ])
        .as_array()
        .unwrap()
        .clone()
    }

    #[test]
    fn only_the_familys_targets_change_and_only_in_their_task_definition() {
        let targets = targets();
        let changed = retarget_rule_targets(&targets, "tutorial-site-task", NEW);
        assert_eq!(changed.len(), 1);
        let mut expected = targets[0].clone();
        expected["EcsParameters"]["TaskDefinitionArn"] = json!(NEW);
        assert_eq!(changed[0], expected);
        assert!(retarget_rule_targets(&targets, "tutorial-site", NEW).is_empty());
        assert_eq!(
            describe_targets(&targets),
            "its targets: nightly-report runs tutorial-site-task:7, other-job runs tutorial-site-task-worker:3, notify is not an ECS task (arn:aws:lambda:eu-west-1:123456789012:function:notify)"
        );
        assert_eq!(describe_targets(&[]), "it has no targets");
    }

    /// GetSchedule as AWS answers it, with every optional field set.
    fn schedule() -> Value {
        json!({
            "Arn": "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly-report",
            "Name": "nightly-report", "GroupName": "default",
            "Description": "the nightly report",
            "ScheduleExpression": "cron(0 3 * * ? *)", "ScheduleExpressionTimezone": "Europe/Paris",
            "StartDate": 1.7900928E9, "EndDate": 1.8900928E9,
            "State": "DISABLED", "KmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234",
            "ActionAfterCompletion": "NONE",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "Target": {"Arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
                "RoleArn": "arn:aws:iam::123456789012:role/scheduler", "Input": "{}",
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:dlq"},
                "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
                    "TaskCount": 2, "LaunchType": "FARGATE", "Group": "reports"}},
            "CreationDate": 1.7000928E9, "LastModificationDate": 1.7100928E9,
            "SomethingNewer": {"kept": true}
        })
    }

    #[test]
    fn a_schedule_keeps_every_field_but_its_task_definition() {
        let input = schedule_update_input(&schedule(), "tutorial-site-task", NEW).unwrap();
        let mut expected = schedule();
        let object = expected.as_object_mut().unwrap();
        for field in SCHEDULE_READ_ONLY_FIELDS {
            object.remove(*field);
        }
        expected["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!(NEW);
        assert_eq!(input, expected);
    }

    #[test]
    fn a_schedule_of_another_family_or_target_is_refused() {
        assert_eq!(
            schedule_update_input(&schedule(), "tutorial-site-task-worker", NEW)
                .unwrap_err()
                .to_string(),
            "it runs tutorial-site-task:7, of another family"
        );
        let mut lambda = schedule();
        lambda["Target"] =
            json!({"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:notify", "RoleArn": "r"});
        assert_eq!(
            schedule_update_input(&lambda, "tutorial-site-task", NEW)
                .unwrap_err()
                .to_string(),
            "its target is not an ECS task (arn:aws:lambda:eu-west-1:123456789012:function:notify)"
        );
    }
}
