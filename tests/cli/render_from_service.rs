//! `deployer render --from-service` and the round trip it exists for: the revision a service
//! runs, written as a file, deployed with `update-service --task-definition-file` unchanged,
//! registers nothing. On moto, for every task-definition shape the tests hold.
use std::path::Path;

use serde_json::Value;

use crate::support::{deployer, moto_call, run, stack, unique_repo, write, Api};

/// Every DescribeTaskDefinition answer and RegisterTaskDefinition input under tests/fixtures,
/// as a RegisterTaskDefinition input (what DescribeTaskDefinition adds left out).
fn shapes() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read_only = [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
    ];
    let mut shapes = Vec::new();
    for dir in ["", "task-definitions", "task-definition-files"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let mut input = match value.get("taskDefinition") {
                Some(definition) => {
                    let mut input = definition.clone();
                    if let Some(tags) = value.get("tags").filter(|t| t.is_array()) {
                        input["tags"] = tags.clone();
                    }
                    input
                }
                None if value.get("containerDefinitions").is_some() => value,
                None => continue,
            };
            let object = input.as_object_mut().unwrap();
            for field in read_only {
                object.remove(field);
            }
            object.retain(|_, value| !value.is_null());
            // As the AWS CLI sends them: ECS takes the task's cpu and memory as strings.
            for field in ["cpu", "memory"] {
                if let Some(Value::Number(number)) = object.get(field) {
                    let text = number.to_string();
                    object.insert(field.to_string(), text.into());
                }
            }
            if object
                .get("tags")
                .is_some_and(|t| t.as_array().is_some_and(Vec::is_empty))
            {
                object.remove("tags");
            }
            shapes.push((path.display().to_string(), input));
        }
    }
    shapes
}

#[test]
fn a_rendered_service_revision_deploys_unchanged_for_every_shape() {
    let stack = stack();
    let api = Api::moto(&stack);
    let shapes = shapes();
    assert!(shapes.len() >= 8, "{}", shapes.len());
    let dir = tempfile::tempdir().unwrap();
    let mut round_trips = 0;
    for (name, mut input) in shapes {
        let family = unique_repo("tutorial-site-task");
        input["family"] = family.clone().into();
        let (status, answer) = moto_call(
            &stack,
            "ecs",
            Some("AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"),
            "POST",
            "/",
            &input,
        );
        if status != 200 {
            // A partial fixture (e.g. without memory) that ECS would refuse as well.
            eprintln!("{name}: not registrable: {answer}");
            continue;
        }
        let arn = answer["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .to_string();
        let cluster = unique_repo("tutorial-site-cluster");
        let service = unique_repo("tutorial-site-service");
        api.create_cluster_and_service(&cluster, &service, &arn);

        let rendered = run(deployer(Path::new("/")).args([
            "render",
            "--from-service",
            &service,
            "--cluster",
            &cluster,
        ]));
        rendered.assert_code(0);
        let file: Value = serde_json::from_str(&rendered.stdout).unwrap();
        assert_eq!(file["family"], family.as_str(), "{name}");
        assert!(file.get("taskDefinitionArn").is_none() && file.get("revision").is_none());
        assert_eq!(
            file.get("tags"),
            input.get("tags"),
            "{name}: the tags are in the file"
        );
        let path = write(dir.path(), &format!("{family}.json"), &rendered.stdout);

        let deployed = run(deployer(Path::new("/"))
            .args([
                "update-service",
                "--cluster",
                &cluster,
                "--service",
                &service,
                "--no-wait",
                // The shapes' images, secrets and roles are made up: the plan's checks would
                // stop them (verify.rs checks those).
                "--no-verify",
                "--task-definition-file",
            ])
            .arg(&path));
        deployed
            .assert_code(0)
            .assert_stderr_contains("unchanged: the file is");
        assert_eq!(deployed.stdout.trim(), arn, "{name}");
        assert_eq!(
            api.revisions(&family),
            std::slice::from_ref(&arn),
            "{name}: nothing registered"
        );
        round_trips += 1;
    }
    eprintln!("round trips: {round_trips}");
    assert!(round_trips >= 6, "{round_trips}");
}

/// A service that does not exist is exit 2; --from-service needs --cluster.
#[test]
fn render_from_a_missing_service_is_refused() {
    let api = Api::moto(&stack());
    let cluster = unique_repo("tutorial-site-cluster");
    api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
        .unwrap();
    run(deployer(Path::new("/")).args([
        "render",
        "--from-service",
        "tutorial-site-nothing",
        "--cluster",
        &cluster,
    ]))
    .assert_code(2)
    .assert_stderr_contains("service tutorial-site-nothing does not exist");
    run(deployer(Path::new("/")).args(["render", "--from-service", "tutorial-site-service"]))
        .assert_code(2);
}

/// `--template`: the image of the containers of `--repo` becomes `{{ image }}`; deployed as it
/// is, the file is refused before anything is registered; with the image given whole, it
/// registers that image.
#[test]
fn a_template_deploys_only_with_its_image_given() {
    let api = Api::moto(&stack());
    let family = unique_repo("tutorial-site-task");
    let first = api.register_seed(&family);
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    api.create_cluster_and_service(&cluster, &service, &first);
    let rendered = run(deployer(Path::new("/")).args([
        "render",
        "--from-service",
        &service,
        "--cluster",
        &cluster,
        "--template",
        "--repo",
        "tutorial-site-registry",
    ]));
    rendered
        .assert_code(0)
        .assert_stderr_contains("template: the image of tutorial-site-app is {{ image }}");
    let file: Value = serde_json::from_str(&rendered.stdout).unwrap();
    assert_eq!(file["containerDefinitions"][0]["image"], "{{ image }}");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "task-definition.json", &rendered.stdout);
    let update = |extra: &[&str]| {
        run(deployer(Path::new("/"))
            .args([
                "update-service",
                "--cluster",
                &cluster,
                "--service",
                &service,
                "--no-wait",
                // The shapes' images, secrets and roles are made up: the plan's checks would
                // stop them (verify.rs checks those).
                "--no-verify",
                "--task-definition-file",
            ])
            .arg(&path)
            .args(extra))
    };
    update(&[])
        .assert_code(2)
        .assert_stderr_contains("still {{ image }}");
    assert_eq!(api.revisions(&family), std::slice::from_ref(&first));
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2";
    let deployed = update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={image}"),
    ]);
    deployed.assert_code(0);
    let (definition, _) = api.describe(deployed.stdout.trim());
    assert_eq!(definition.container_definitions()[0].image(), Some(image));
    assert_eq!(api.revisions(&family).len(), 2);
}
