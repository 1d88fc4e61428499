//! AWS Identity and Access Management: whether a task's roles exist, and their trust policy.
use super::aws::{ApiError, AwsConfig};
use super::recorder::Recorder;

/// A role as GetRole answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub arn: String,
    /// The trust policy, URL-encoded as IAM answers it.
    pub trust_policy: Option<String>,
}

pub struct Iam {
    client: aws_sdk_iam::Client,
}

impl Iam {
    pub fn new(config: &AwsConfig) -> Self {
        Iam {
            client: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
        }
    }

    /// The role named `name`, or `None` when there is none (`NoSuchEntity`, IAM API reference,
    /// GetRole).
    pub async fn role(&self, name: &str) -> Result<Option<Role>, ApiError> {
        let answer = self
            .client
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("iam:GetRole", e));
        match answer {
            Ok(answer) => Ok(answer.role().map(|role| Role {
                arn: role.arn().to_string(),
                trust_policy: role.assume_role_policy_document().map(str::to_string),
            })),
            Err(error)
                if error.is_code("NoSuchEntity") || error.is_code("NoSuchEntityException") =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}
