//! `deployer register-task-definition`, task-definition files, and the scheduled tasks that
//! follow a family, against moto: the revisions, rule targets and schedules moto holds after a
//! run are what the tests check.
use serde_json::{json, Value};

use crate::support::{
    deployer, describe_task_definition_json, moto_call, run, stack, unique_repo, write, Api, Run,
};

const CLUSTER_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster";

fn register(args: &[&str]) -> Run {
    run(deployer(std::path::Path::new("/"))
        .arg("register-task-definition")
        .args(args))
}

/// A fixture of tests/fixtures/task-definition-files with its family set to `family`, written
/// to a file of `dir`.
fn fixture_file(dir: &std::path::Path, name: &str, family: &str) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/task-definition-files")
            .join(name),
    )
    .unwrap();
    let text = text.replace("\"tutorial-site-task\"", &format!("\"{family}\""));
    write(dir, name, &text).display().to_string()
}

/// The revision as moto sends it.
fn definition(arn: &str) -> Value {
    describe_task_definition_json(&stack(), arn)
}

fn family_with_revision() -> (Api, String, String) {
    let api = Api::moto(&stack());
    let family = unique_repo("tutorial-site-task");
    let arn = api.register_seed(&family);
    (api, family, arn)
}

#[test]
fn registers_a_revision_of_the_family_with_an_image_update_and_exports_its_arn() {
    let (api, family, first) = family_with_revision();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bash_env");
    let result = register(&[
        "--family",
        &family,
        "--container-image-name-updates",
        "container=tutorial-site-app,tag=v2",
        "--task-definition-tags",
        "key=release,value=v2",
        "--export-env",
        env_file.to_str().unwrap(),
    ]);
    result.assert_code(0);
    let arn = result.stdout.trim();
    assert!(
        arn.ends_with(&format!("task-definition/{family}:2")),
        "{arn}"
    );
    let registered = definition(arn);
    assert_eq!(
        registered["taskDefinition"]["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"
    );
    let mut before = definition(&first)["taskDefinition"].clone();
    let mut after = registered["taskDefinition"].clone();
    for masked in ["taskDefinitionArn", "revision", "registeredAt"] {
        before[masked] = json!(null);
        after[masked] = json!(null);
    }
    before["containerDefinitions"][0]["image"] = json!(null);
    after["containerDefinitions"][0]["image"] = json!(null);
    assert_eq!(after, before, "only the image changed");
    assert_eq!(
        registered["tags"],
        json!([{"key": "team", "value": "web"}, {"key": "app", "value": "tutorial-site"}, {"key": "release", "value": "v2"}])
    );
    let exported = crate::support::exported_to_later_steps(&env_file);
    assert_eq!(
        exported
            .get("DEPLOYER_TASK_DEFINITION_ARN")
            .map(String::as_str),
        Some(arn)
    );
    assert_eq!(api.revisions(&family).len(), 2);

    let json_result = register(&["--family", &family, "--output", "json"]);
    json_result.assert_code(0);
    let outcome: Value = serde_json::from_str(&json_result.stdout).unwrap();
    assert_eq!(outcome["family"], family.as_str());
    assert_eq!(outcome["revision"], 3);
    assert!(outcome["task_definition_arn"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{family}:3")));
    assert_eq!(outcome["previous_task_definition_arn"], arn);
}

#[test]
fn registers_a_bare_input_file_then_a_describe_answer_with_its_tags() {
    let api = Api::moto(&stack());
    api.seed_images_in_ecr();
    let family = unique_repo("tutorial-site-task");
    let dir = tempfile::tempdir().unwrap();
    let file = fixture_file(dir.path(), "register-input.json", &family);
    let result = register(&["--task-definition-file", &file]);
    result.assert_code(0);
    let arn = result.stdout.trim().to_string();
    assert!(arn.ends_with(&format!("{family}:1")), "{arn}");
    let registered = definition(&arn);
    let input: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut expected = input.clone();
    let tags = expected.as_object_mut().unwrap().remove("tags").unwrap();
    assert_eq!(registered["tags"], tags);
    // ECS (and moto) add their defaults (a container's cpu 0, empty mountPoints): every field
    // of the file is there as it was.
    assert_holds(&registered["taskDefinition"], &expected, "taskDefinition");

    // The describe answer of that revision, saved as `aws ecs describe-task-definition
    // --include TAGS` prints it, and registered again from stdin with one more tag.
    let saved = write(dir.path(), "described.json", &registered.to_string());
    let mut command = deployer(std::path::Path::new("/"));
    command
        .args(["register-task-definition", "--task-definition-file", "-"])
        .args(["--task-definition-tags", "key=copy,value=yes"])
        .stdin(std::fs::File::open(&saved).unwrap());
    let result = run(&mut command);
    result.assert_code(0).assert_stderr_contains(
        "left out what RegisterTaskDefinition does not take: taskDefinition.taskDefinitionArn",
    );
    let second = definition(result.stdout.trim());
    assert_eq!(second["taskDefinition"]["revision"], 2);
    assert_eq!(
        second["tags"],
        json!([{"key": "team", "value": "web"}, {"key": "copy", "value": "yes"}])
    );
    let mut first = registered["taskDefinition"].clone();
    let mut again = second["taskDefinition"].clone();
    for masked in ["taskDefinitionArn", "revision", "registeredAt"] {
        first[masked] = json!(null);
        again[masked] = json!(null);
    }
    assert_eq!(again, first);
    assert_eq!(api.revisions(&family).len(), 2);
}

/// `actual` has every field of `expected` with its value, at any depth; lists item by item.
fn assert_holds(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            for (key, value) in expected {
                let child = format!("{path}.{key}");
                assert_holds(actual.get(key).unwrap_or(&Value::Null), value, &child);
            }
        }
        (Value::Array(actual), Value::Array(expected)) => {
            assert_eq!(actual.len(), expected.len(), "{path}");
            for (index, (actual, expected)) in actual.iter().zip(expected).enumerate() {
                assert_holds(actual, expected, &format!("{path}[{index}]"));
            }
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

#[test]
fn a_messy_file_is_registered_as_it_is_without_its_nulls() {
    let api = Api::moto(&stack());
    api.seed_images_in_ecr();
    let family = unique_repo("tutorial-site-task");
    let dir = tempfile::tempdir().unwrap();
    let file = fixture_file(dir.path(), "messy.json", &family);

    // The input that is sent carries fields newer than the SDK as they are.
    let planned = register(&["--task-definition-file", &file, "--dry-run"]);
    planned.assert_code(0);
    let input: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(input["someFutureField"], json!({"enabled": true}));
    assert_eq!(
        input["containerDefinitions"][0]["someFutureContainerField"],
        "kept"
    );
    assert!(input.get("taskRoleArn").is_none());

    let result = register(&["--task-definition-file", &file]);
    result.assert_code(0);
    let registered = definition(result.stdout.trim());
    let definition = &registered["taskDefinition"];
    assert_eq!(definition["cpu"], "512");
    assert_eq!(definition["memory"], "1024");
    assert_eq!(definition["family"], family.as_str());
    assert!(definition.get("taskRoleArn").is_none_or(Value::is_null));
    let app = &definition["containerDefinitions"][0];
    assert_eq!(app["name"], "tutorial-site-app");
    assert!(app.get("command").is_none_or(Value::is_null));
    assert_eq!(app["logConfiguration"]["logDriver"], "awslogs");
    assert_eq!(api.revisions(&family).len(), 1);
}

#[test]
fn bad_files_are_refused_naming_the_file_and_the_field_and_nothing_is_registered() {
    let (api, family, _) = family_with_revision();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "not-json.json",
            "{\"family\": ".to_string(),
            "not JSON".to_string(),
        ),
        (
            "no-family.json",
            json!({"containerDefinitions": [{"name": "a", "image": "b"}]}).to_string(),
            "family: is missing".to_string(),
        ),
        ("list.json", "[]".to_string(), "not an object".to_string()),
    ];
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, &text);
        let result = register(&["--task-definition-file", path.to_str().unwrap()]);
        result
            .assert_code(2)
            .assert_stderr_contains(&format!("task definition file {}", path.display()))
            .assert_stderr_contains(&expected);
    }
    let other = fixture_file(dir.path(), "register-input.json", "tutorial-site-other");
    register(&["--family", &family, "--task-definition-file", &other])
        .assert_code(2)
        .assert_stderr_contains(&format!(
            "--family {family} and --task-definition-file {other} (family tutorial-site-other) disagree"
        ));
    register(&["--family", &unique_repo("tutorial-site-none")])
        .assert_code(2)
        .assert_stderr_contains("has no revision to start from");
    // Issue 19: a file whose container gets its image from the pipeline is checked as it is
    // rendered: without an image update it is refused, naming the flag that gives one.
    let no_image = write(
        dir.path(),
        "no-image.json",
        &json!({"taskDefinition": {"family": family, "containerDefinitions": [{"name": "tutorial-site-app", "memory": 128}]}}).to_string(),
    );
    register(&["--task-definition-file", no_image.to_str().unwrap()])
        .assert_code(2)
        .assert_stderr_contains("container tutorial-site-app has no image in the rendered revision")
        .assert_stderr_contains(
            "give it one with --container-image-name-updates container=tutorial-site-app,image-and-tag=",
        );
    assert_eq!(api.revisions(&family).len(), 1, "nothing registered");
    assert!(api.revisions("tutorial-site-other").is_empty());
    register(&[
        "--task-definition-file",
        no_image.to_str().unwrap(),
        "--container-image-name-updates",
        "container=tutorial-site-app,image-and-tag=123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2",
    ])
    .assert_code(0);
    assert_eq!(
        api.revisions(&family).len(),
        2,
        "the rendered revision is whole"
    );
}

#[test]
fn dry_run_prints_the_input_and_registers_nothing() {
    let (api, family, _) = family_with_revision();
    let result = register(&[
        "--family",
        &family,
        "--container-env-var-updates",
        "container=tutorial-site-app,name=VERSION,value=v2",
        "--dry-run",
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains("dry run, nothing changed: would register a new revision of")
        .assert_stderr_contains("tutorial-site-app: environment VERSION added");
    // Issue 20: the plan shows which variables are set, not their values...
    let input: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(
        input["containerDefinitions"][0]["environment"][1],
        json!({"name": "VERSION", "value": "<set>"})
    );
    // ...unless --show-values asks for them.
    let shown = register(&[
        "--family",
        &family,
        "--container-env-var-updates",
        "container=tutorial-site-app,name=VERSION,value=v2",
        "--dry-run",
        "--show-values",
    ]);
    let input: Value = serde_json::from_str(&shown.assert_code(0).stdout).unwrap();
    assert_eq!(
        input["containerDefinitions"][0]["environment"][1],
        json!({"name": "VERSION", "value": "v2"})
    );
    assert_eq!(api.revisions(&family).len(), 1);
}

fn events(target: &str, body: Value) -> (u16, Value) {
    moto_call(
        &stack(),
        "events",
        Some(&format!("AWSEvents.{target}")),
        "POST",
        "/",
        &body,
    )
}

/// A scheduled rule with a target of `family` that sets everything a target can, a target of
/// another family, and a queue.
pub(crate) fn scheduled_rule(family: &str, first: &str) -> (String, Vec<Value>) {
    let rule = unique_repo("tutorial-site-nightly");
    let (status, _) = events(
        "PutRule",
        json!({"Name": rule, "ScheduleExpression": "rate(1 day)", "State": "ENABLED"}),
    );
    assert_eq!(status, 200);
    let targets = vec![
        json!({
            "Id": "nightly-report",
            "Arn": CLUSTER_ARN,
            "RoleArn": "arn:aws:iam::123456789012:role/ecsEventsRole",
            "Input": "{\"containerOverrides\":[{\"name\":\"tutorial-site-app\",\"command\":[\"report\"]}]}",
            "EcsParameters": {
                "TaskDefinitionArn": first,
                "TaskCount": 2,
                "LaunchType": "FARGATE",
                "PlatformVersion": "LATEST",
                "Group": "reports",
                "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroups": ["sg-0a1b2c3d"], "AssignPublicIp": "DISABLED"}},
                "EnableECSManagedTags": true,
                "PropagateTags": "TASK_DEFINITION",
                "Tags": [{"key": "job", "value": "report"}]
            },
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:tutorial-site-dlq"}
        }),
        json!({
            "Id": "other-job",
            "Arn": CLUSTER_ARN,
            "RoleArn": "arn:aws:iam::123456789012:role/ecsEventsRole",
            "EcsParameters": {"TaskDefinitionArn": format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}-worker:4"), "TaskCount": 1}
        }),
        json!({"Id": "queue", "Arn": "arn:aws:sqs:eu-west-1:123456789012:tutorial-site-queue"}),
    ];
    let (status, answer) = events("PutTargets", json!({"Rule": rule, "Targets": targets}));
    assert_eq!((status, &answer["FailedEntryCount"]), (200, &json!(0)));
    (rule, targets)
}

pub(crate) fn rule_targets(rule: &str) -> Vec<Value> {
    let (status, answer) = events("ListTargetsByRule", json!({"Rule": rule}));
    assert_eq!(status, 200, "{answer}");
    answer["Targets"].as_array().unwrap().clone()
}

#[test]
fn update_scheduled_task_moves_only_this_familys_targets_and_keeps_their_settings() {
    let (_, family, first) = family_with_revision();
    let (rule, _) = scheduled_rule(&family, &first);
    let before = rule_targets(&rule);
    let result = register(&[
        "--family",
        &family,
        "--container-image-name-updates",
        "container=tutorial-site-app,tag=v2",
        "--update-scheduled-task",
        &rule,
    ]);
    result.assert_code(0).assert_stderr_contains(&format!(
        "rule {rule} target nightly-report now runs {family}:2"
    ));
    let arn = result.stdout.trim();
    let after = rule_targets(&rule);
    assert_eq!(after.len(), 3);
    let mut expected = before[0].clone();
    expected["EcsParameters"]["TaskDefinitionArn"] = json!(arn);
    assert_eq!(after[0], expected);
    assert_eq!(after[1..], before[1..], "other targets untouched");
}

/// The orb's `deploy_ecs_scheduled_task` after `update_task_definition`: the rule follows a
/// revision that is already registered, and nothing new is registered.
#[test]
fn existing_revision_points_the_rule_at_it_and_registers_nothing() {
    let (api, family, first) = family_with_revision();
    let second = api.register_seed(&family);
    let (rule, _) = scheduled_rule(&family, &first);
    let before = rule_targets(&rule);
    for (args, named) in [
        (
            vec!["--existing-revision", second.as_str()],
            "--update-scheduled-task",
        ),
        (
            vec![
                "--existing-revision",
                &second,
                "--update-scheduled-task",
                &rule,
                "--container-image-name-updates",
                "container=tutorial-site-app,tag=v2",
            ],
            "registers nothing",
        ),
        (
            vec![
                "--existing-revision",
                &second,
                "--family",
                "tutorial-site-other",
                "--update-scheduled-task",
                &rule,
            ],
            "disagree",
        ),
        (
            vec![
                "--existing-revision",
                "tutorial-site-no-such-family:3",
                "--update-scheduled-task",
                &rule,
            ],
            "does not exist",
        ),
    ] {
        register(&args).assert_code(2).assert_stderr_contains(named);
    }
    let dry = register(&[
        "--existing-revision",
        &second,
        "--update-scheduled-task",
        &rule,
        "--dry-run",
    ]);
    dry.assert_code(0).assert_stderr_contains(&format!(
        "would point rule {rule} target nightly-report at {family}:2"
    ));
    assert_eq!(
        rule_targets(&rule),
        before,
        "a refusal or a dry run changes nothing"
    );

    let exports = tempfile::NamedTempFile::new().unwrap();
    let result = register(&[
        "--existing-revision",
        &format!("{family}:2"),
        "--update-scheduled-task",
        &rule,
        "--export-env",
        exports.path().to_str().unwrap(),
    ]);
    result.assert_code(0).assert_stderr_contains(&format!(
        "rule {rule} target nightly-report now runs {family}:2"
    ));
    assert_eq!(result.stdout.trim(), second);
    assert_eq!(
        api.revisions(&family),
        [first, second.clone()],
        "nothing registered"
    );
    let after = rule_targets(&rule);
    let mut expected = before[0].clone();
    expected["EcsParameters"]["TaskDefinitionArn"] = json!(second);
    assert_eq!(after[0], expected);
    assert_eq!(after[1..], before[1..], "other targets untouched");
    assert_eq!(
        crate::support::exported_to_later_steps(exports.path())["DEPLOYER_TASK_DEFINITION_ARN"],
        second
    );
}

#[test]
fn a_rule_without_a_target_of_the_family_or_no_rule_is_refused_before_registering() {
    let (api, family, first) = family_with_revision();
    let (rule, _) = scheduled_rule(
        &format!("{family}-x"),
        &first.replace(&family, "other-family"),
    );
    let before = rule_targets(&rule);
    register(&["--family", &family, "--update-scheduled-task", &rule])
        .assert_code(2)
        .assert_stderr_contains(&format!("no target of rule {rule} runs a task of {family}"))
        .assert_stderr_contains("nightly-report runs other-family:1");
    register(&[
        "--family",
        &family,
        "--rule-name",
        "tutorial-site-no-such-rule",
    ])
    .assert_code(2)
    .assert_stderr_contains("there is no EventBridge rule tutorial-site-no-such-rule");
    assert_eq!(api.revisions(&family).len(), 1, "nothing registered");
    assert_eq!(rule_targets(&rule), before);
}

fn scheduler(method: &str, path: &str, body: Value) -> (u16, Value) {
    moto_call(&stack(), "scheduler", None, method, path, &body)
}

#[test]
fn update_schedule_changes_only_the_task_definition_of_the_schedule() {
    let (_, family, first) = family_with_revision();
    let group = unique_repo("tutorial-site-jobs");
    let (status, answer) = scheduler("POST", &format!("/schedule-groups/{group}"), json!({}));
    assert_eq!(status, 200, "{answer}");
    let name = unique_repo("tutorial-site-report");
    let (status, answer) = scheduler(
        "POST",
        &format!("/schedules/{name}"),
        json!({
            "GroupName": group,
            "Description": "the nightly report",
            "ScheduleExpression": "rate(1 day)",
            "ScheduleExpressionTimezone": "Europe/Paris",
            "StartDate": 1893456000,
            "EndDate": 1924992000,
            "State": "DISABLED",
            "KmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "ActionAfterCompletion": "NONE",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "Target": {
                "Arn": CLUSTER_ARN,
                "RoleArn": "arn:aws:iam::123456789012:role/tutorial-site-scheduler",
                "Input": "{\"containerOverrides\":[]}",
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:tutorial-site-dlq"},
                "EcsParameters": {"TaskDefinitionArn": first, "TaskCount": 2, "LaunchType": "FARGATE", "Group": "reports"}
            }
        }),
    );
    assert_eq!(status, 200, "{answer}");
    let get = || {
        let (status, schedule) = scheduler(
            "GET",
            &format!("/schedules/{name}?groupName={group}"),
            json!({}),
        );
        assert_eq!(status, 200, "{schedule}");
        schedule
    };
    let before = get();

    // A schedule in another group is not found; nothing is registered.
    register(&["--family", &family, "--update-schedule", &name])
        .assert_code(2)
        .assert_stderr_contains(&format!(
            "there is no schedule {name} in schedule group default"
        ));

    let result = register(&[
        "--family",
        &family,
        "--update-schedule",
        &name,
        "--schedule-group",
        &group,
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains(&format!("schedule {group}/{name} now runs {family}:2"));
    let arn = result.stdout.trim();
    let mut after = get();
    let mut expected = before.clone();
    expected["Target"]["EcsParameters"]["TaskDefinitionArn"] = json!(arn);
    expected["LastModificationDate"] = json!(null);
    after["LastModificationDate"] = json!(null);
    assert_eq!(after, expected);
}

#[test]
fn update_service_deploys_a_task_definition_file() {
    let (api, family, first) = family_with_revision();
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    api.create_cluster_and_service(&cluster, &service, &first);
    let dir = tempfile::tempdir().unwrap();
    let file = fixture_file(dir.path(), "register-input.json", &family);
    let update = |extra: &[&str]| {
        run(deployer(std::path::Path::new("/"))
            .args([
                "update-service",
                "--cluster",
                &cluster,
                "--service",
                &service,
            ])
            // The fixture's secret and task role are not in moto (verify.rs checks those).
            .args(["--task-definition-file", &file, "--no-wait", "--no-verify"])
            .args(extra))
    };
    update(&["--family", "tutorial-site-other"])
        .assert_code(2)
        .assert_stderr_contains("disagree");
    update(&["--skip-task-definition-registration"]).assert_code(2);
    assert_eq!(api.revisions(&family).len(), 1, "nothing registered");

    let dry = update(&["--dry-run"]);
    dry.assert_code(0)
        .assert_stderr_contains("would register a new revision of")
        .assert_stderr_contains(&format!("from {file}"))
        .assert_stderr_contains("tutorial-site-app: secrets DB_PASSWORD added");
    assert_eq!(api.revisions(&family).len(), 1, "dry run registers nothing");

    let (rule, _) = scheduled_rule(&family, &first);
    let before = rule_targets(&rule);
    let result = update(&[
        "--container-env-var-updates",
        "container=tutorial-site-app,name=VERSION,value=v2",
        "--update-scheduled-task",
        &rule,
    ]);
    result.assert_code(0);
    let arn = result.stdout.trim();
    let mut expected = before.clone();
    expected[0]["EcsParameters"]["TaskDefinitionArn"] = json!(arn);
    assert_eq!(rule_targets(&rule), expected, "the scheduled task follows");
    assert!(arn.ends_with(&format!("{family}:2")), "{arn}");
    assert!(api
        .service_task_definition(&cluster, &service)
        .ends_with(&format!("{family}:2")));
    let registered = definition(arn);
    let app = &registered["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(
        app["environment"],
        json!([{"name": "NODE_ENV", "value": "production"}, {"name": "VERSION", "value": "v2"}])
    );
    assert_eq!(app["secrets"][0]["name"], "DB_PASSWORD");
    assert_eq!(registered["taskDefinition"]["cpu"], "256");
    assert_eq!(registered["tags"], json!([{"key": "team", "value": "web"}]));
}
