//! What a revision needs before its tasks can start, read from its task definition: every
//! container's image, every secret's source (SSM parameters, Secrets Manager secrets, as ECS
//! reads `valueFrom`), the awslogs groups ECS will not create, the task and execution roles, and
//! a Fargate task's size. Pure: the adapters answer each need, [`Verdict`] says how.
use std::fmt;

use serde_json::Value;

/// One thing the revision needs to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// A container's image.
    Image { container: String, image: String },
    /// A secret's source: a container's `secrets`, its log configuration's `secretOptions`, or
    /// its `repositoryCredentials`.
    Secret {
        container: String,
        name: String,
        source: SecretSource,
    },
    /// An awslogs log group that ECS does not create (no `awslogs-create-group: true`).
    LogGroup {
        container: String,
        group: String,
        region: Option<String>,
    },
    /// The task or execution role.
    Role { kind: RoleKind, arn: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    Task,
    Execution,
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoleKind::Task => "task role",
            RoleKind::Execution => "execution role",
        })
    }
}

impl Need {
    /// What the need is, for one line of the report: `image of tutorial-site-app`.
    pub fn subject(&self) -> String {
        match self {
            Need::Image { container, .. } => format!("image of {container}"),
            Need::Secret {
                container, name, ..
            } => format!("secret {name} of {container}"),
            Need::LogGroup { container, .. } => format!("log group of {container}"),
            Need::Role { kind, .. } => kind.to_string(),
        }
    }

    /// The thing itself: the image, the group, the role; for a secret only the kind of its
    /// source, since a source is never shown (as `--record` and `deployer diff` hide them).
    pub fn object(&self) -> String {
        match self {
            Need::Image { image, .. } => image.clone(),
            Need::Secret { source, .. } => source.kind().to_string(),
            Need::LogGroup { group, region, .. } => match region {
                Some(region) => format!("{group} ({region})"),
                None => group.clone(),
            },
            Need::Role { arn, .. } => arn.clone(),
        }
    }
}

/// Where a secret's value is read from, as ECS reads `valueFrom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An SSM parameter: its name (same region as the task) or its ARN (any region).
    Parameter {
        name_or_arn: String,
        region: Option<String>,
    },
    /// A Secrets Manager secret: its ARN without ECS's suffix, and the suffix's parts.
    Secret {
        secret_id: String,
        region: Option<String>,
        json_key: Option<String>,
        version_stage: Option<String>,
        version_id: Option<String>,
    },
    /// Neither: ECS cannot read it.
    Invalid { value_from: String, why: String },
}

impl SecretSource {
    /// Every form that names the source in a request or an answer: the ARN or name given,
    /// the name inside an ARN, and a secret's name without the six characters Secrets Manager
    /// adds to its ARN.
    pub fn identifiers(&self) -> Vec<String> {
        let mut names = Vec::new();
        match self {
            SecretSource::Parameter { name_or_arn, .. } => {
                names.push(name_or_arn.clone());
                if let Some(secret) = name_or_arn.strip_prefix("/aws/reference/secretsmanager/") {
                    names.push(secret.to_string());
                }
                if let Some((_, path)) = name_or_arn.split_once(":parameter/") {
                    names.push(path.to_string());
                    names.push(format!("/{path}"));
                }
            }
            SecretSource::Secret { secret_id, .. } => {
                names.push(secret_id.clone());
                if let Some((_, name)) = secret_id.split_once(":secret:") {
                    names.push(name.to_string());
                    if let Some((bare, suffix)) = name.rsplit_once('-') {
                        if suffix.len() == 6 {
                            names.push(bare.to_string());
                        }
                    }
                }
            }
            SecretSource::Invalid { value_from, .. } => names.push(value_from.clone()),
        }
        names
    }

    /// What kind of source it is, without naming it.
    pub fn kind(&self) -> &'static str {
        match self {
            SecretSource::Parameter { .. } => "an SSM parameter",
            SecretSource::Secret {
                json_key: Some(_), ..
            } => "a key of a Secrets Manager secret",
            SecretSource::Secret { .. } => "a Secrets Manager secret",
            SecretSource::Invalid { .. } => "its valueFrom",
        }
    }
}

/// Reads a `valueFrom` as ECS does (Amazon ECS Developer Guide, "Pass sensitive data to an
/// Amazon ECS container"): a Secrets Manager ARN, optionally followed by
/// `:json-key:version-stage:version-id` (each part may be empty); an SSM parameter ARN; or, for
/// a parameter in the task's region, its name.
pub fn secret_source(value_from: &str) -> SecretSource {
    let invalid = |why: &str| SecretSource::Invalid {
        value_from: value_from.to_string(),
        why: why.to_string(),
    };
    if !value_from.starts_with("arn:") {
        if value_from.trim().is_empty() {
            return invalid("valueFrom is empty");
        }
        return SecretSource::Parameter {
            name_or_arn: value_from.to_string(),
            region: None,
        };
    }
    // arn:partition:service:region:account:resource…
    let parts: Vec<&str> = value_from.split(':').collect();
    if parts.len() < 6 {
        return invalid("not an ARN: arn:partition:service:region:account:resource");
    }
    let region = Some(parts[3].to_string()).filter(|region| !region.is_empty());
    match parts[2] {
        "ssm" if parts[5].starts_with("parameter/") => SecretSource::Parameter {
            name_or_arn: value_from.to_string(),
            region,
        },
        "secretsmanager" if parts[5] == "secret" && parts.len() >= 7 && !parts[6].is_empty() => {
            if parts.len() > 10 {
                return invalid(
                    "a Secrets Manager valueFrom is the secret's ARN and at most :json-key:version-stage:version-id",
                );
            }
            let part = |index: usize| {
                parts
                    .get(index)
                    .filter(|part| !part.is_empty())
                    .map(|part| part.to_string())
            };
            SecretSource::Secret {
                secret_id: parts[..7].join(":"),
                region,
                json_key: part(7),
                version_stage: part(8),
                version_id: part(9),
            }
        }
        _ => invalid("ECS reads secrets from SSM parameters (arn:…:ssm:…:parameter/NAME, or the name) and Secrets Manager secrets (arn:…:secretsmanager:…:secret:NAME)"),
    }
}

/// Everything the task definition needs, in container order, then the roles.
pub fn needs(task_definition: &Value) -> Vec<Need> {
    let mut needs = Vec::new();
    let containers = task_definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for container in containers {
        let name = text(container, "name").unwrap_or_default().to_string();
        if let Some(image) = text(container, "image") {
            needs.push(Need::Image {
                container: name.clone(),
                image: image.to_string(),
            });
        }
        let secret = |label: &str, value_from: &str| Need::Secret {
            container: name.clone(),
            name: label.to_string(),
            source: secret_source(value_from),
        };
        for item in list(container, "secrets") {
            if let Some(value_from) = text(item, "valueFrom") {
                needs.push(secret(text(item, "name").unwrap_or_default(), value_from));
            }
        }
        if let Some(parameter) = container
            .pointer("/repositoryCredentials/credentialsParameter")
            .and_then(Value::as_str)
        {
            needs.push(secret("repositoryCredentials", parameter));
        }
        let log = container.get("logConfiguration");
        for item in log
            .map(|log| list(log, "secretOptions"))
            .unwrap_or_default()
        {
            if let Some(value_from) = text(item, "valueFrom") {
                let label = format!("{} (log option)", text(item, "name").unwrap_or_default());
                needs.push(secret(&label, value_from));
            }
        }
        if let Some(log) = log.filter(|log| text(log, "logDriver") == Some("awslogs")) {
            let option = |key: &str| {
                log.pointer(&format!("/options/{key}"))
                    .and_then(Value::as_str)
            };
            let created =
                option("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if let (Some(group), false) = (option("awslogs-group"), created) {
                needs.push(Need::LogGroup {
                    container: name.clone(),
                    group: group.to_string(),
                    region: option("awslogs-region").map(str::to_string),
                });
            }
        }
    }
    for (key, kind) in [
        ("executionRoleArn", RoleKind::Execution),
        ("taskRoleArn", RoleKind::Task),
    ] {
        if let Some(arn) = text(task_definition, key).filter(|arn| !arn.is_empty()) {
            needs.push(Need::Role {
                kind,
                arn: arn.to_string(),
            });
        }
    }
    needs
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn list<'a>(value: &'a Value, key: &str) -> Vec<&'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}

/// How a need was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It exists; the detail says what was found (a digest, "trusts ecs-tasks.amazonaws.com").
    Ok(String),
    /// It does not exist: why.
    Missing(String),
    /// It exists but cannot serve the task (a role ECS tasks cannot assume, a size Fargate
    /// does not run): why.
    Invalid(String),
    /// Not checked, and why (another registry, another account).
    NotChecked(String),
    /// The IAM action deployer was refused to check it.
    Denied(String),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Ok(_) => "ok",
            Verdict::Missing(_) => "missing",
            Verdict::Invalid(_) => "invalid",
            Verdict::NotChecked(_) | Verdict::Denied(_) => "not checked",
        }
    }

    /// Whether the revision would not start: missing or invalid.
    pub fn fails(&self) -> bool {
        matches!(self, Verdict::Missing(_) | Verdict::Invalid(_))
    }

    /// The verdict's reason, as the end of a report line.
    pub fn detail(&self) -> String {
        match self {
            Verdict::Ok(detail)
            | Verdict::Missing(detail)
            | Verdict::Invalid(detail)
            | Verdict::NotChecked(detail) => detail.clone(),
            Verdict::Denied(action) => {
                format!("{action} was refused: allow it to have deployer check this")
            }
        }
    }
}

/// One line of `deployer verify`'s report: `missing      secret DB_PASSWORD of tutorial-site-app: SSM parameter /site/db: no such parameter`.
pub fn report_line(subject: &str, object: &str, verdict: &Verdict) -> String {
    let detail = verdict.detail();
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    format!("{:<11}  {subject}: {object}{detail}", verdict.label())
}

/// Whether an IAM trust policy (as GetRole answers it, once URL-decoded) lets ECS tasks assume
/// the role: a statement that allows `sts:AssumeRole` to the service principal
/// `ecs-tasks.amazonaws.com`.
pub fn trusts_ecs_tasks(policy: &Value) -> bool {
    let statements = match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    };
    statements.into_iter().any(|statement| {
        let allows = text(statement, "Effect") == Some("Allow");
        let actions = strings(statement.get("Action"));
        let assumes = actions.iter().any(|action| {
            matches!(
                action.to_ascii_lowercase().as_str(),
                "sts:assumerole" | "sts:*" | "*"
            )
        });
        let principal = statement.pointer("/Principal/Service");
        let ecs_tasks = strings(principal)
            .iter()
            .any(|service| service == "ecs-tasks.amazonaws.com");
        allows && assumes && ecs_tasks
    })
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Decodes the percent-encoding IAM puts on policy documents (IAM API reference, GetRole:
/// "AssumeRolePolicyDocument … URL-encoded compliant with RFC 3986"). A document that is not
/// encoded comes back as it is.
pub fn url_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|b| (*b as char).to_digit(16))
                .map(|d| d as u8)
        };
        match (bytes[index], hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(high * 16 + low);
                index += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                index += 1;
            }
            (byte, _, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Fargate task's size that ECS refuses, or `None` when it is one of the supported
/// combinations (Amazon ECS Developer Guide, "Task CPU and memory": 256 CPU units with 512,
/// 1024 or 2048 MiB; 512 with 1–4 GB; 1024 with 2–8 GB; 2048 with 4–16 GB, in 1 GB steps; 4096
/// with 8–30 GB in 1 GB steps; 8192 with 16–60 GB in 4 GB steps; 16384 with 32–120 GB in 8 GB
/// steps). Tasks that do not require FARGATE are not checked.
pub fn fargate_size_problem(task_definition: &Value) -> Option<String> {
    let fargate = list(task_definition, "requiresCompatibilities")
        .iter()
        .any(|item| item.as_str() == Some("FARGATE"));
    if !fargate {
        return None;
    }
    let cpu = text(task_definition, "cpu");
    let memory = text(task_definition, "memory");
    let (Some(cpu_text), Some(memory_text)) = (cpu, memory) else {
        return Some(
            "a FARGATE task definition needs the task's cpu and memory (e.g. cpu 256, memory 512)"
                .to_string(),
        );
    };
    let (Some(cpu), Some(memory)) = (units(cpu_text, "vcpu"), units(memory_text, "gb")) else {
        return Some(format!(
            "cpu {cpu_text:?} and memory {memory_text:?} are not numbers ECS reads (CPU units or \"1 vCPU\", MiB or \"2 GB\")"
        ));
    };
    let memories: Vec<u64> = match cpu {
        256 => vec![512, 1024, 2048],
        512 => (1..=4).map(|gb| gb * 1024).collect(),
        1024 => (2..=8).map(|gb| gb * 1024).collect(),
        2048 => (4..=16).map(|gb| gb * 1024).collect(),
        4096 => (8..=30).map(|gb| gb * 1024).collect(),
        8192 => (16..=60).step_by(4).map(|gb| gb * 1024).collect(),
        16384 => (32..=120).step_by(8).map(|gb| gb * 1024).collect(),
        _ => {
            return Some(format!(
                "cpu {cpu_text} is not a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units"
            ))
        }
    };
    if memories.contains(&memory) {
        return None;
    }
    let range = match (memories.first(), memories.last()) {
        (Some(low), Some(high)) if memories.len() > 3 => format!(
            "{low} to {high} MiB in steps of {}",
            memories[1] - memories[0]
        ),
        _ => {
            memories
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
                + " MiB"
        }
    };
    Some(format!(
        "memory {memory_text} with cpu {cpu_text} is not a Fargate size: with {cpu} CPU units, memory is {range}"
    ))
}

/// `"1024"`, or `"1 vCPU"` / `"2 GB"` (the unit ECS also reads), in CPU units or MiB.
fn units(text: &str, unit: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(number) = text.parse::<u64>() {
        return Some(number);
    }
    let lower = text.to_ascii_lowercase();
    let number = lower.strip_suffix(unit)?.trim();
    let value: f64 = number.parse().ok()?;
    let scaled = value * 1024.0;
    (scaled.fract() == 0.0 && scaled > 0.0).then_some(scaled as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tutorial/db-AbCdEf";

    /// The `valueFrom` forms of the Amazon ECS Developer Guide ("Pass Secrets Manager secrets
    /// through Amazon ECS environment variables": `arn:…:secret:secret-name:json-key:version-stage:version-id`,
    /// each part optional but its colons kept; "Pass Systems Manager parameters": the name when
    /// the parameter is in the task's region, the ARN otherwise).
    #[test]
    fn value_from_is_read_as_ecs_reads_it() {
        assert_eq!(
            secret_source(&format!("{SECRET}:password::")),
            SecretSource::Secret {
                secret_id: SECRET.into(),
                region: Some("us-east-1".into()),
                json_key: Some("password".into()),
                version_stage: None,
                version_id: None,
            }
        );
        assert_eq!(
            secret_source(&format!("{SECRET}::AWSPREVIOUS:")),
            SecretSource::Secret {
                secret_id: SECRET.into(),
                region: Some("us-east-1".into()),
                json_key: None,
                version_stage: Some("AWSPREVIOUS".into()),
                version_id: None,
            }
        );
        assert_eq!(
            secret_source(SECRET).identifiers(),
            vec![
                SECRET.to_string(),
                "tutorial/db-AbCdEf".into(),
                "tutorial/db".into()
            ]
        );
        let whole = secret_source(SECRET);
        assert!(matches!(whole, SecretSource::Secret { json_key: None, .. }));
        assert_eq!(
            secret_source("/tutorial/db_password"),
            SecretSource::Parameter {
                name_or_arn: "/tutorial/db_password".into(),
                region: None
            }
        );
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/tutorial/db_password";
        assert_eq!(
            secret_source(arn),
            SecretSource::Parameter {
                name_or_arn: arn.into(),
                region: Some("eu-west-1".into())
            }
        );
        assert!(matches!(
            secret_source("arn:aws:s3:::bucket/key"),
            SecretSource::Invalid { .. }
        ));
        assert!(matches!(
            secret_source(&format!("{SECRET}:a:b:c:d")),
            SecretSource::Invalid { .. }
        ));
    }

    /// A task definition as DescribeTaskDefinition answers it (ECS API reference,
    /// ContainerDefinition: `secrets`, `repositoryCredentials.credentialsParameter`,
    /// `logConfiguration.secretOptions`, awslogs options).
    #[test]
    fn needs_lists_every_container_s_images_secrets_groups_and_the_roles() {
        let definition = json!({
            "family": "tutorial-site-task",
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "containerDefinitions": [
                {
                    "name": "tutorial-site-app",
                    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tutorial-site:v2",
                    "secrets": [{"name": "DB_PASSWORD", "valueFrom": format!("{SECRET}:password::")}],
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/tutorial-site-task", "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "ecs"}}
                },
                {
                    "name": "proxy",
                    "image": "registry.example.com/proxy:1",
                    "repositoryCredentials": {"credentialsParameter": SECRET},
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/proxy", "awslogs-create-group": "true"},
                        "secretOptions": [{"name": "token", "valueFrom": "/tutorial/token"}]}
                }
            ]
        });
        let found = needs(&definition);
        // Sources are read, never shown.
        assert!(found
            .iter()
            .all(|need| !need.object().contains("tutorial/")));
        let subjects: Vec<String> = found
            .iter()
            .map(|need| format!("{}: {}", need.subject(), need.object()))
            .collect();
        assert_eq!(
            subjects,
            vec![
                "image of tutorial-site-app: 123456789012.dkr.ecr.us-east-1.amazonaws.com/tutorial-site:v2".to_string(),
                "secret DB_PASSWORD of tutorial-site-app: a key of a Secrets Manager secret".into(),
                "log group of tutorial-site-app: /ecs/tutorial-site-task (us-east-1)".into(),
                "image of proxy: registry.example.com/proxy:1".into(),
                "secret repositoryCredentials of proxy: a Secrets Manager secret".into(),
                "secret token (log option) of proxy: an SSM parameter".into(),
                "execution role: arn:aws:iam::123456789012:role/ecsTaskExecutionRole".into(),
            ]
        );
    }

    /// IAM answers GetRole's AssumeRolePolicyDocument URL-encoded (IAM API reference, Role).
    #[test]
    fn trust_policies_are_read_as_iam_answers_them() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ecs-tasks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let policy: Value = serde_json::from_str(&url_decoded(encoded)).unwrap();
        assert!(trusts_ecs_tasks(&policy));
        let plain = r#"{"Statement": {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]}}"#;
        assert!(trusts_ecs_tasks(
            &serde_json::from_str(&url_decoded(plain)).unwrap()
        ));
        let ec2 = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        assert!(!trusts_ecs_tasks(&ec2));
        let denied = json!({"Statement": [{"Effect": "Deny", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        assert!(!trusts_ecs_tasks(&denied));
    }

    #[test]
    fn fargate_sizes_are_the_documented_combinations() {
        let size = |cpu: &str, memory: &str| {
            fargate_size_problem(
                &json!({"requiresCompatibilities": ["FARGATE"], "cpu": cpu, "memory": memory}),
            )
        };
        assert_eq!(size("256", "512"), None);
        assert_eq!(size("1 vCPU", "2 GB"), None);
        assert_eq!(size("0.25 vCPU", "0.5 GB"), None);
        assert_eq!(size("4096", "30720"), None);
        assert_eq!(size("8192", "20480"), None);
        assert_eq!(
            size("256", "4096").unwrap(),
            "memory 4096 with cpu 256 is not a Fargate size: with 256 CPU units, memory is 512, 1024, 2048 MiB"
        );
        assert!(size("8192", "18432")
            .unwrap()
            .contains("16384 to 61440 MiB in steps of 4096"));
        assert!(size("300", "512").unwrap().contains("not a Fargate size"));
        assert!(fargate_size_problem(&json!({"requiresCompatibilities": ["FARGATE"]})).is_some());
        assert_eq!(
            fargate_size_problem(&json!({"requiresCompatibilities": ["EC2"], "cpu": "300"})),
            None
        );
    }

    #[test]
    fn report_lines_say_what_how_and_why() {
        assert_eq!(
            report_line(
                "image of app",
                "repo:v1",
                &Verdict::Missing("no tag v1".into())
            ),
            "missing      image of app: repo:v1 (no tag v1)"
        );
        assert_eq!(
            report_line("task role", "arn", &Verdict::Denied("iam:GetRole".into())),
            "not checked  task role: arn (iam:GetRole was refused: allow it to have deployer check this)"
        );
    }
}
