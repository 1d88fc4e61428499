//! Task-definition files as people keep them: the bare RegisterTaskDefinition input (what
//! `aws ecs register-task-definition --cli-input-json` and the aws-ecs orb take) or a saved
//! `aws ecs describe-task-definition` answer. Both become the RegisterTaskDefinition input,
//! refused only where ECS itself would refuse it; unknown fields pass through.
use std::fmt;

use serde_json::{Map, Value};

use super::reference::ImageReference;
use super::task_definition::{IMAGE_PLACEHOLDER, READ_ONLY_FIELDS};

/// Which shape the file had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileShape {
    /// The RegisterTaskDefinition input itself.
    RegisterInput,
    /// `{"taskDefinition": {…}, "tags": […]}`, as DescribeTaskDefinition answers.
    DescribeAnswer,
}

/// A task-definition file read into the RegisterTaskDefinition input.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionFile {
    /// The file's name as the user gave it (`stdin` for `-`).
    pub file: String,
    pub input: Value,
    pub shape: FileShape,
    /// Describe-only fields and explicit `null`s left out, as JSON paths.
    pub dropped: Vec<String>,
}

impl TaskDefinitionFile {
    pub fn family(&self) -> &str {
        self.input["family"].as_str().unwrap_or_default()
    }

    /// The input in the shape the renderer reads, a DescribeTaskDefinition answer: the
    /// definition, and its tags beside it.
    pub fn as_described(&self) -> Value {
        let mut definition = self.input.as_object().cloned().unwrap_or_default();
        let tags = definition.remove("tags");
        let mut described = Map::new();
        described.insert("taskDefinition".into(), Value::Object(definition));
        if let Some(tags) = tags {
            described.insert("tags".into(), tags);
        }
        Value::Object(described)
    }
}

/// Why a file cannot be registered: the file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    /// A JSON path such as `taskDefinition.containerDefinitions[1].image`; empty for the whole file.
    pub path: String,
    pub problem: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "task definition file {}: {}", self.file, self.problem)
        } else {
            write!(
                f,
                "task definition file {}: {}: {}",
                self.file, self.path, self.problem
            )
        }
    }
}

impl std::error::Error for FileError {}

/// Top-level fields ECS takes as strings that files often hold as numbers (`"cpu": 256`); the
/// AWS CLI turns such numbers into strings, and so does this.
const STRING_FIELDS: &[&str] = &["cpu", "memory"];

/// Reads the text of the file named `file` into the RegisterTaskDefinition input.
pub fn load(file: &str, text: &str) -> Result<TaskDefinitionFile, FileError> {
    let error = |path: &str, problem: String| FileError {
        file: file.to_string(),
        path: path.to_string(),
        problem,
    };
    let document: Value = serde_json::from_str(text).map_err(|e| {
        error(
            "",
            format!(
                "not JSON: {e} (expected a RegisterTaskDefinition input or the output of aws ecs describe-task-definition)"
            ),
        )
    })?;
    let Value::Object(mut document) = document else {
        return Err(error(
            "",
            format!(
                "is JSON {}, not an object: expected a RegisterTaskDefinition input or the output of aws ecs describe-task-definition",
                kind(&document)
            ),
        ));
    };
    let mut dropped = Vec::new();
    let (mut definition, shape, prefix) = match document.remove("taskDefinition") {
        Some(Value::Object(definition)) => {
            let mut definition = definition;
            match document.remove("tags") {
                Some(Value::Array(tags)) => {
                    definition.insert("tags".into(), Value::Array(tags));
                }
                Some(Value::Null) | None => {}
                Some(other) => {
                    return Err(error(
                        "tags",
                        format!("is {}, not a list of {{key, value}}", kind(&other)),
                    ))
                }
            }
            for (key, _) in document {
                dropped.push(key);
            }
            (definition, FileShape::DescribeAnswer, "taskDefinition.")
        }
        Some(other) => {
            return Err(error(
                "taskDefinition",
                format!("is {}, not an object", kind(&other)),
            ))
        }
        None => (document, FileShape::RegisterInput, ""),
    };
    drop_nulls(&mut definition, prefix, &mut dropped);
    for field in READ_ONLY_FIELDS {
        if definition.remove(*field).is_some() {
            dropped.push(format!("{prefix}{field}"));
        }
    }
    if definition
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        definition.remove("tags");
    }
    for field in STRING_FIELDS {
        if let Some(Value::Number(number)) = definition.get(*field) {
            let text = number.to_string();
            definition.insert((*field).to_string(), Value::String(text));
        }
    }
    check(&definition, prefix).map_err(|(path, problem)| error(&path, problem))?;
    Ok(TaskDefinitionFile {
        file: file.to_string(),
        input: Value::Object(definition),
        shape,
        dropped,
    })
}

/// What ECS would refuse before looking any closer: a family, containers with names and images.
fn check(definition: &Map<String, Value>, prefix: &str) -> Result<(), (String, String)> {
    let at = |path: &str| format!("{prefix}{path}");
    match definition.get("family") {
        Some(Value::String(family)) if !family.is_empty() => {}
        Some(Value::String(_)) => return Err((at("family"), "is empty".into())),
        Some(other) => return Err((at("family"), format!("is {}, not a string", kind(other)))),
        None => {
            return Err((
                at("family"),
                "is missing: RegisterTaskDefinition needs the family".into(),
            ))
        }
    }
    let containers = match definition.get("containerDefinitions") {
        Some(Value::Array(containers)) if !containers.is_empty() => containers,
        Some(Value::Array(_)) => {
            return Err((
                at("containerDefinitions"),
                "is empty: a task definition needs at least one container".into(),
            ))
        }
        Some(other) => {
            return Err((
                at("containerDefinitions"),
                format!("is {}, not a list", kind(other)),
            ))
        }
        None => {
            return Err((
                at("containerDefinitions"),
                "is missing: RegisterTaskDefinition needs the containers".into(),
            ))
        }
    };
    for (index, container) in containers.iter().enumerate() {
        let path = at(&format!("containerDefinitions[{index}]"));
        let Value::Object(container) = container else {
            return Err((path, format!("is {}, not an object", kind(container))));
        };
        // The image may come from the pipeline (`image-and-tag=`); the rendered revision is
        // checked for it.
        for field in ["name"] {
            match container.get(field) {
                Some(Value::String(value)) if !value.is_empty() => {}
                Some(Value::String(_)) => {
                    return Err((format!("{path}.{field}"), "is empty".into()))
                }
                Some(other) => {
                    return Err((
                        format!("{path}.{field}"),
                        format!("is {}, not a string", kind(other)),
                    ))
                }
                None => {
                    return Err((
                        format!("{path}.{field}"),
                        "is missing: every container needs a name".into(),
                    ))
                }
            }
        }
    }
    if let Some(tags) = definition.get("tags") {
        let Value::Array(tags) = tags else {
            return Err((at("tags"), format!("is {}, not a list", kind(tags))));
        };
        for (index, tag) in tags.iter().enumerate() {
            if !tag.get("key").is_some_and(Value::is_string) {
                return Err((
                    at(&format!("tags[{index}]")),
                    "has no \"key\": tags are {\"key\": …, \"value\": …}".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Removes members whose value is `null`, at any depth: the AWS CLI and SDKs treat them as absent,
/// and ECS refuses some of them as values.
fn drop_nulls(object: &mut Map<String, Value>, path: &str, dropped: &mut Vec<String>) {
    object.retain(|key, value| {
        if value.is_null() {
            dropped.push(format!("{path}{key}"));
        }
        !value.is_null()
    });
    for (key, value) in object.iter_mut() {
        drop_nulls_in(value, &format!("{path}{key}"), dropped);
    }
}

fn drop_nulls_in(value: &mut Value, path: &str, dropped: &mut Vec<String>) {
    match value {
        Value::Object(object) => drop_nulls(object, &format!("{path}."), dropped),
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                drop_nulls_in(item, &format!("{path}[{index}]"), dropped);
            }
        }
        _ => {}
    }
}

/// RegisterTaskDefinition's request members in the order of the ECS API reference: a file
/// written from a running revision lists its keys in this order, then any other key by name.
const MEMBER_ORDER: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// A DescribeTaskDefinition answer (with its tags) as a file to keep in a repository and
/// register: what RegisterTaskDefinition does not take (the revision, its status, what ECS
/// computed, the registration's time and author) left out, as are `null`s and empty tags;
/// the top-level keys in the API reference's order, every nested object's keys by name, so
/// the same revision always gives the same file. [`load`] reads it back unchanged.
pub fn from_described(described: &Value) -> Result<Value, String> {
    let definition = described
        .get("taskDefinition")
        .and_then(Value::as_object)
        .ok_or("not a DescribeTaskDefinition answer: no \"taskDefinition\" object")?;
    let mut definition = definition.clone();
    for field in READ_ONLY_FIELDS {
        definition.remove(*field);
    }
    if let Some(tags) = described
        .get("tags")
        .and_then(Value::as_array)
        .filter(|tags| !tags.is_empty())
    {
        definition.insert("tags".into(), Value::Array(tags.clone()));
    }
    drop_nulls(&mut definition, "", &mut Vec::new());
    if definition
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        definition.remove("tags");
    }
    let mut ordered = Map::new();
    for member in MEMBER_ORDER {
        if let Some(value) = definition.remove(*member) {
            ordered.insert((*member).to_string(), sorted_keys(value));
        }
    }
    let mut rest: Vec<(String, Value)> = definition.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, value) in rest {
        ordered.insert(key, sorted_keys(value));
    }
    Ok(Value::Object(ordered))
}

/// Makes a file a template: the image of each container named in `containers`, and of each
/// whose image is of a repository in `repositories` (a name such as `tutorial-site-registry`,
/// or `REGISTRY/NAME`), becomes [`IMAGE_PLACEHOLDER`]. Answers the containers changed; an
/// unknown container, or nothing to change, is an error.
pub fn template(
    file: &mut Value,
    containers: &[String],
    repositories: &[String],
) -> Result<Vec<String>, String> {
    let list = file
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or("the task definition has no containerDefinitions")?;
    let names: Vec<String> = list
        .iter()
        .filter_map(|container| container["name"].as_str().map(str::to_string))
        .collect();
    if let Some(unknown) = containers.iter().find(|name| !names.contains(name)) {
        return Err(format!(
            "the task definition has no container {unknown:?} (it has: {})",
            names.join(", ")
        ));
    }
    let in_repositories = |image: &str| {
        ImageReference::parse(image).is_ok_and(|reference| {
            let name = reference.name();
            repositories
                .iter()
                .any(|repository| name == *repository || name.ends_with(&format!("/{repository}")))
        })
    };
    let mut changed = Vec::new();
    for container in list.iter_mut() {
        let name = container["name"].as_str().unwrap_or_default().to_string();
        let image = container["image"].as_str().unwrap_or_default();
        if containers.contains(&name) || in_repositories(image) {
            container["image"] = Value::String(IMAGE_PLACEHOLDER.to_string());
            changed.push(name);
        }
    }
    if changed.is_empty() {
        return Err(format!(
            "no container's image is of {} (containers: {})",
            repositories.join(", "),
            names.join(", ")
        ));
    }
    Ok(changed)
}

/// The value with every object's keys by name (lists keep their order: it means something).
fn sorted_keys(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut entries: Vec<(String, Value)> = object.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted_keys(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/task-definition-files")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn load_fixture(name: &str) -> TaskDefinitionFile {
        load(name, &fixture(name)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_register_input_file_is_taken_as_it_is() {
        let text = fixture("register-input.json");
        let file = load_fixture("register-input.json");
        assert_eq!(file.shape, FileShape::RegisterInput);
        assert_eq!(file.input, serde_json::from_str::<Value>(&text).unwrap());
        assert_eq!(file.family(), "tutorial-site-task");
        assert!(file.dropped.is_empty(), "{:?}", file.dropped);
    }

    #[test]
    fn a_describe_answer_with_tags_becomes_the_input_with_its_tags() {
        let file = load_fixture("describe-with-tags.json");
        assert_eq!(file.shape, FileShape::DescribeAnswer);
        let input = file.input.as_object().unwrap();
        for field in READ_ONLY_FIELDS {
            assert!(!input.contains_key(*field), "{field} kept");
        }
        assert_eq!(
            file.input["tags"],
            json!([{"key": "team", "value": "web"}, {"key": "app", "value": "tutorial-site"}])
        );
        assert_eq!(file.input["cpu"], "256");
        assert_eq!(
            file.input["containerDefinitions"][0]["image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v1"
        );
        assert!(file
            .dropped
            .contains(&"taskDefinition.requiresAttributes".to_string()));
        // The renderer's view gives the same input back.
        let rendered = crate::domain::task_definition::render(&file.as_described(), &[]).unwrap();
        assert_eq!(rendered, file.input);
    }

    #[test]
    fn a_describe_answer_without_tags_has_none() {
        let file = load_fixture("describe-without-tags.json");
        assert_eq!(file.shape, FileShape::DescribeAnswer);
        assert!(file.input.get("tags").is_none());
        assert!(file.input.get("registeredBy").is_none());
        assert_eq!(file.family(), "tutorial-site-task");
    }

    #[test]
    fn a_messy_file_loses_nulls_and_keeps_unknown_fields_and_empty_lists() {
        let file = load_fixture("messy.json");
        let input = &file.input;
        assert_eq!(input["cpu"], "512", "numbers become strings");
        assert_eq!(input["memory"], "1024");
        assert!(input.get("taskRoleArn").is_none(), "null dropped");
        assert!(input.get("pidMode").is_none(), "null dropped");
        assert!(input.get("tags").is_none(), "an empty tag list is no tags");
        assert!(input.get("status").is_none());
        assert_eq!(input["volumes"], json!([]));
        assert_eq!(input["someFutureField"], json!({"enabled": true}));
        let app = &input["containerDefinitions"][0];
        assert!(app.get("command").is_none());
        assert!(app["logConfiguration"].get("secretOptions").is_none());
        assert_eq!(app["someFutureContainerField"], "kept");
        assert_eq!(app["cpu"], 0, "container cpu stays a number");
        assert!(file.dropped.contains(&"taskRoleArn".to_string()));
        assert!(file
            .dropped
            .contains(&"containerDefinitions[0].logConfiguration.secretOptions".to_string()));
        assert_eq!(
            crate::domain::task_definition_check::validate_for_registration(input),
            Ok(())
        );
    }

    #[test]
    fn what_ecs_would_refuse_names_the_file_the_path_and_the_field() {
        let cases = [
            ("{", "task definition file f.json: not JSON: EOF while parsing an object at line 1 column 1 (expected a RegisterTaskDefinition input or the output of aws ecs describe-task-definition)"),
            ("[]", "task definition file f.json: is JSON a list, not an object: expected a RegisterTaskDefinition input or the output of aws ecs describe-task-definition"),
            (r#"{"containerDefinitions": [{"name": "a", "image": "b"}]}"#, "task definition file f.json: family: is missing: RegisterTaskDefinition needs the family"),
            (r#"{"taskDefinition": {"family": "x"}}"#, "task definition file f.json: taskDefinition.containerDefinitions: is missing: RegisterTaskDefinition needs the containers"),
            (r#"{"family": "x", "containerDefinitions": []}"#, "task definition file f.json: containerDefinitions: is empty: a task definition needs at least one container"),
            (r#"{"family": "x", "containerDefinitions": [{"image": "b"}]}"#, "task definition file f.json: containerDefinitions[0].name: is missing: every container needs a name"),
            (r#"{"family": 3, "containerDefinitions": [{"name": "a", "image": "b"}]}"#, "task definition file f.json: family: is a number, not a string"),
            (r#"{"taskDefinition": "x"}"#, "task definition file f.json: taskDefinition: is a string, not an object"),
            (r#"{"family": "x", "containerDefinitions": [{"name": "a", "image": "b"}], "tags": [{"value": "v"}]}"#, "task definition file f.json: tags[0]: has no \"key\": tags are {\"key\": …, \"value\": …}"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                load("f.json", text).unwrap_err().to_string(),
                expected,
                "{text}"
            );
        }
    }

    /// Every DescribeTaskDefinition answer the tests hold, as `render --from-service` writes it:
    /// registrable (no read-only field), tags kept, read back by `load` as the very same input
    /// as the revision's own, so deploying the file changes nothing.
    #[test]
    fn a_described_revision_becomes_a_file_that_loads_back_unchanged() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut answers = Vec::new();
        for dir in ["task-definitions", "task-definition-files", ""] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value.get("taskDefinition").is_some() {
                        answers.push((path.display().to_string(), value));
                    }
                }
            }
        }
        assert!(answers.len() >= 6, "{}", answers.len());
        for (name, described) in answers {
            let file = from_described(&described).unwrap();
            let text = serde_json::to_string_pretty(&file).unwrap();
            let loaded = load(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(loaded.input, file, "{name}");
            assert!(loaded.dropped.is_empty(), "{name}: {:?}", loaded.dropped);
            for field in READ_ONLY_FIELDS {
                assert!(file.get(*field).is_none(), "{name}: {field}");
            }
            assert_eq!(file.as_object().unwrap().keys().next().unwrap(), "family");
            assert_eq!(
                file.get("tags"),
                described
                    .get("tags")
                    .filter(|t| t.as_array().is_some_and(|t| !t.is_empty())),
                "{name}"
            );
            // Nothing changes against the revision it came from.
            assert_eq!(
                crate::domain::task_definition_diff::diff(&described, &loaded.input),
                Vec::<String>::new(),
                "{name}"
            );
            // The same revision always gives the same file.
            assert_eq!(
                serde_json::to_string(&from_described(&described).unwrap()).unwrap(),
                serde_json::to_string(&file).unwrap()
            );
        }
        assert!(from_described(&json!({"family": "tutorial-site-task"})).is_err());
    }

    /// A template's containers get the placeholder, by name or by repository; the file then
    /// renders only with a whole image given for them.
    #[test]
    fn a_template_puts_the_placeholder_where_the_pipeline_gives_the_image() {
        let described = json!({"taskDefinition": {
            "family": "tutorial-site-task",
            "containerDefinitions": [
                {"name": "tutorial-site-app", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v7", "memory": 512},
                {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "memory": 64}
            ]
        }});
        let mut file = from_described(&described).unwrap();
        let by_repository = template(&mut file, &[], &["tutorial-site-registry".into()]).unwrap();
        assert_eq!(by_repository, ["tutorial-site-app"]);
        assert_eq!(file["containerDefinitions"][0]["image"], IMAGE_PLACEHOLDER);
        assert_eq!(
            file["containerDefinitions"][1]["image"],
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
        );
        let mut by_name = from_described(&described).unwrap();
        assert_eq!(
            template(&mut by_name, &["log-router".into()], &[]).unwrap(),
            ["log-router"]
        );
        assert!(template(&mut by_name.clone(), &["typo".into()], &[])
            .unwrap_err()
            .contains("no container \"typo\""));
        assert!(template(&mut by_name.clone(), &[], &["other-registry".into()]).is_err());

        // Loaded back, the template renders only once the image is given whole.
        let text = serde_json::to_string(&file).unwrap();
        let loaded = load("task-definition.json", &text).unwrap();
        let error =
            crate::domain::task_definition::render(&loaded.as_described(), &[]).unwrap_err();
        assert!(error.to_string().contains("still {{ image }}"), "{error}");
        let tag_only =
            crate::domain::update_spec::parse_image_updates("container=tutorial-site-app,tag=v8")
                .unwrap();
        assert!(crate::domain::task_definition::render(&loaded.as_described(), &tag_only).is_err());
        let whole = crate::domain::update_spec::parse_image_updates(
            "container=tutorial-site-app,image-and-tag=123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v8",
        )
        .unwrap();
        let rendered =
            crate::domain::task_definition::render(&loaded.as_described(), &whole).unwrap();
        assert_eq!(
            rendered["containerDefinitions"][0]["image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v8"
        );
    }
}
