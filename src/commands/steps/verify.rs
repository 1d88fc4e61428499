//! The checks of `deployer verify`, which `update-service` and `deploy` also run in their plan:
//! whatever a revision needs to start exists (images, secrets' sources, awslogs groups, the
//! roles and that they trust ECS tasks, a Fargate size), asked of ECR, SSM, Secrets Manager,
//! CloudWatch Logs and IAM at once. A check deployer may not make is "not checked", never a
//! failure.
use futures_util::future::join_all;
use serde_json::Value;

use super::image_check::ImageCheck;
use crate::adapters::aws::{ApiError, ApiErrorKind, AwsConfig};
use crate::adapters::iam::Iam;
use crate::adapters::logs::Logs;
use crate::adapters::secrets_manager::{SecretVersions, SecretsManager};
use crate::adapters::ssm::Ssm;
use crate::domain::verify::{
    fargate_size_problem, needs, report_line, trusts_ecs_tasks, url_decoded, Need, SecretSource,
    Verdict,
};
use crate::error::{Error, Result};
use crate::output;
use crate::secret::Secret;

/// One answered check: what, which, and how it stands.
#[derive(Debug, Clone)]
pub struct Finding {
    pub subject: String,
    pub object: String,
    pub verdict: Verdict,
}

impl Finding {
    pub fn line(&self) -> String {
        report_line(&self.subject, &self.object, &self.verdict)
    }

    pub fn json(&self) -> Value {
        serde_json::json!({
            "check": self.subject,
            "of": self.object,
            "result": self.verdict.label(),
            "detail": self.verdict.detail(),
        })
    }
}

/// How a check that AWS failed (other than by refusing it) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// `deployer verify`: the error, exit 3.
    Fail,
    /// A deploy's plan: "not checked" with the error, so a CI runner that cannot reach IAM or
    /// SSM (a private network without their endpoints) deploys as it did before these checks.
    NotChecked,
}

/// Answers every need of `task_definition` (a RegisterTaskDefinition input, or a described
/// revision's `taskDefinition`), in its order, then the Fargate size. Images in `skip_images`
/// (already checked by the plan) are left out. A refused check is "not checked"; another AWS
/// failure counts as `on_error` says.
pub async fn check(
    config: &AwsConfig,
    images: &ImageCheck<'_>,
    task_definition: &Value,
    skip_images: &[String],
    on_error: OnError,
) -> Result<Vec<Finding>> {
    let needs: Vec<Need> = needs(task_definition)
        .into_iter()
        .filter(|need| !matches!(need, Need::Image { image, .. } if skip_images.contains(image)))
        .collect();
    // The sources asked about are masked in every line deployer writes from now on, its
    // `--record` file and the SDK's logs included, as their values would be.
    for need in &needs {
        if let Need::Secret { source, .. } = need {
            for text in source.identifiers() {
                output::register_secret(&Secret::new(text));
            }
        }
    }
    let answers = join_all(needs.iter().map(|need| answer(config, images, need))).await;
    let mut findings = Vec::with_capacity(needs.len() + 1);
    for (need, verdict) in needs.iter().zip(answers) {
        let verdict = match (verdict, on_error) {
            (Ok(verdict), _) => verdict,
            (Err(error), OnError::Fail) => return Err(error),
            (Err(error), OnError::NotChecked) => {
                Verdict::NotChecked(format!("AWS did not answer: {}", error.message))
            }
        };
        findings.push(Finding {
            subject: need.subject(),
            object: need.object(),
            verdict,
        });
    }
    let fargate = task_definition
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|item| item.as_str() == Some("FARGATE")));
    if fargate {
        let size = |key: &str| {
            task_definition
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("unset")
                .to_string()
        };
        findings.push(Finding {
            subject: "Fargate task size".into(),
            object: format!("cpu {}, memory {}", size("cpu"), size("memory")),
            verdict: fargate_size_problem(task_definition)
                .map_or_else(|| Verdict::Ok(String::new()), Verdict::Invalid),
        });
    }
    Ok(findings)
}

/// The plan's use of [`check`]: one line for what was checked, one per finding that is not
/// ok, and exit 2 (nothing changed) naming every failed check.
pub async fn in_plan(
    config: &AwsConfig,
    images: &ImageCheck<'_>,
    task_definition: &Value,
    skip_images: &[String],
) -> Result<()> {
    let findings = check(
        config,
        images,
        task_definition,
        skip_images,
        OnError::NotChecked,
    )
    .await?;
    let failed: Vec<&Finding> = findings.iter().filter(|f| f.verdict.fails()).collect();
    for finding in &findings {
        match &finding.verdict {
            Verdict::Denied(_) => output::warn(finding.line()),
            Verdict::NotChecked(why) if why.starts_with("AWS did not answer") => {
                output::warn(finding.line())
            }
            Verdict::NotChecked(_) => output::step(finding.line()),
            _ => {}
        }
    }
    if failed.is_empty() {
        let ok = findings
            .iter()
            .filter(|f| matches!(f.verdict, Verdict::Ok(_)))
            .count();
        output::step(format!(
            "verified: {ok} of {} checks ok (what the revision needs to start)",
            findings.len()
        ));
        return Ok(());
    }
    let mut error = Error::usage(format!(
        "the new revision would not start: {} of {} checks failed",
        failed.len(),
        findings.len()
    ))
    .with_hint("fix what is missing (deployer verify checks again), or pass --no-verify to deploy without these checks");
    error.details = failed.iter().map(|finding| finding.line()).collect();
    Err(error)
}

async fn answer(config: &AwsConfig, images: &ImageCheck<'_>, need: &Need) -> Result<Verdict> {
    match need {
        Need::Image { image, .. } => images.verdict(image).await,
        Need::Secret { source, .. } => refused_or(secret(config, source).await),
        Need::LogGroup { group, region, .. } => {
            let exists = Logs::in_region(config, region.as_deref())
                .group_exists(group)
                .await;
            refused_or(exists.map(|exists| {
                if exists {
                    Verdict::Ok(String::new())
                } else {
                    Verdict::Missing("no such log group: create it, or set the awslogs-create-group option to true (the execution role then needs logs:CreateLogGroup)".into())
                }
            }))
        }
        Need::Role { arn, .. } => refused_or(role(config, arn).await),
    }
}

/// A refused check is a verdict, not an error; other AWS failures are errors.
fn refused_or(answer: std::result::Result<Verdict, ApiError>) -> Result<Verdict> {
    match answer {
        Ok(verdict) => Ok(verdict),
        Err(error) if error.kind == ApiErrorKind::AccessDenied => {
            Ok(Verdict::Denied(error.action.to_string()))
        }
        // An endpoint without the service (an emulator, a partition without it).
        Err(error) if error.is_unknown_operation() => Ok(Verdict::NotChecked(format!(
            "the endpoint does not answer {}",
            error.action
        ))),
        Err(error) => Err(error.into()),
    }
}

async fn secret(
    config: &AwsConfig,
    source: &SecretSource,
) -> std::result::Result<Verdict, ApiError> {
    match source {
        SecretSource::Invalid { why, .. } => Ok(Verdict::Invalid(why.clone())),
        SecretSource::Parameter {
            name_or_arn,
            region,
        } => {
            // Parameter Store's references to Secrets Manager are read with decryption only,
            // which deployer never asks for: ask Secrets Manager about the secret itself.
            if let Some(secret) = name_or_arn.strip_prefix("/aws/reference/secretsmanager/") {
                return named_secret(config, region.as_deref(), secret).await;
            }
            let missing = Ssm::in_region(config, region.as_deref())
                .missing(std::slice::from_ref(name_or_arn))
                .await?;
            if missing.is_empty() {
                return Ok(Verdict::Ok(String::new()));
            }
            // A name that is no parameter: ECS's documentation gives Secrets Manager secrets by
            // ARN, but a secret of that name would make the check wrong, so it is asked too.
            if !name_or_arn.starts_with("arn:") {
                if let Ok(Verdict::Ok(_)) =
                    named_secret(config, region.as_deref(), name_or_arn).await
                {
                    return Ok(Verdict::Ok("a Secrets Manager secret of that name".into()));
                }
            }
            Ok(Verdict::Missing("no such parameter".into()))
        }
        SecretSource::Secret {
            secret_id,
            region,
            json_key,
            version_stage,
            version_id,
        } => {
            let versions = match live_secret(config, region.as_deref(), secret_id).await? {
                Ok(versions) => versions,
                Err(verdict) => return Ok(verdict),
            };
            if let Some(id) = version_id {
                if !versions.stages.contains_key(id) {
                    return Ok(Verdict::Missing(
                        "the secret has no version with the version id valueFrom gives".into(),
                    ));
                }
            }
            if let Some(stage) = version_stage {
                let staged = versions
                    .stages
                    .iter()
                    .filter(|(id, _)| version_id.as_ref().is_none_or(|wanted| wanted == *id))
                    .any(|(_, labels)| labels.contains(stage));
                if !staged {
                    return Ok(Verdict::Missing(format!(
                        "no version of the secret has the stage {stage}"
                    )));
                }
            }
            Ok(Verdict::Ok(match json_key {
                Some(_) => "the JSON key is inside the value, which deployer does not read".into(),
                None => String::new(),
            }))
        }
    }
}

/// The versions of the Secrets Manager secret `id` (an ARN or a name), or why ECS could not
/// read it: there is none, or it is scheduled for deletion.
async fn live_secret(
    config: &AwsConfig,
    region: Option<&str>,
    id: &str,
) -> std::result::Result<std::result::Result<SecretVersions, Verdict>, ApiError> {
    Ok(
        match SecretsManager::in_region(config, region)
            .describe(id)
            .await?
        {
            Some(versions) if !versions.deleted => Ok(versions),
            Some(_) => Err(Verdict::Missing(
                "the secret is scheduled for deletion".into(),
            )),
            None => Err(Verdict::Missing("no such secret".into())),
        },
    )
}

/// Whether the Secrets Manager secret `name` exists and is not being deleted.
async fn named_secret(
    config: &AwsConfig,
    region: Option<&str>,
    name: &str,
) -> std::result::Result<Verdict, ApiError> {
    Ok(live_secret(config, region, name)
        .await?
        .map_or_else(|missing| missing, |_| Verdict::Ok(String::new())))
}

async fn role(config: &AwsConfig, arn: &str) -> std::result::Result<Verdict, ApiError> {
    // arn:aws:iam::123456789012:role/path/name, or (taskRoleArn, ECS API reference
    // TaskDefinition: "The short name or full ARN of the IAM role") the role's name alone.
    let name = match arn.split_once(":role/") {
        Some((_, path)) => path.rsplit('/').next().unwrap_or(path),
        None if !arn.starts_with("arn:") => arn.rsplit('/').next().unwrap_or(arn),
        None => {
            return Ok(Verdict::Invalid(
                "not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)".into(),
            ))
        }
    };
    let Some(found) = Iam::new(config).role(name).await? else {
        return Ok(Verdict::Missing("no such role".into()));
    };
    let account = |arn: &str| arn.split(':').nth(4).map(str::to_string);
    if arn.starts_with("arn:") && account(arn) != account(&found.arn) {
        return Ok(Verdict::NotChecked(format!(
            "a role of account {}, not of the account deployer runs as",
            account(arn).unwrap_or_default()
        )));
    }
    let policy = found
        .trust_policy
        .as_deref()
        .map(url_decoded)
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    Ok(match policy {
        Some(policy) if trusts_ecs_tasks(&policy) => {
            Verdict::Ok("trusts ecs-tasks.amazonaws.com".into())
        }
        Some(_) => Verdict::Invalid("its trust policy does not let ECS tasks assume it: allow sts:AssumeRole to the service principal ecs-tasks.amazonaws.com".into()),
        None => Verdict::NotChecked("IAM answered no readable trust policy".into()),
    })
}
