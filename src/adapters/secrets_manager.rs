//! AWS Secrets Manager: whether the secrets a task definition names exist, and their versions'
//! stages. DescribeSecret only: a secret's value is never read.
use std::collections::BTreeMap;

use super::aws::{ApiError, AwsConfig};
use super::recorder::Recorder;

/// What DescribeSecret says about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersions {
    /// Scheduled for deletion: ECS cannot read it.
    pub deleted: bool,
    /// Each version id and its staging labels.
    pub stages: BTreeMap<String, Vec<String>>,
}

pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    /// A client for `region` (the region of the secret's ARN), or the configuration's region.
    pub fn in_region(config: &AwsConfig, region: Option<&str>) -> Self {
        let mut builder =
            aws_sdk_secretsmanager::config::Builder::from(config.sdk()).interceptor(Recorder);
        if let Some(region) = region {
            builder = builder.region(aws_sdk_secretsmanager::config::Region::new(
                region.to_string(),
            ));
        }
        SecretsManager {
            client: aws_sdk_secretsmanager::Client::from_conf(builder.build()),
        }
    }

    /// The secret's versions, or `None` when there is no such secret
    /// (`ResourceNotFoundException`, Secrets Manager API reference, DescribeSecret).
    pub async fn describe(&self, secret_id: &str) -> Result<Option<SecretVersions>, ApiError> {
        let answer = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("secretsmanager:DescribeSecret", e));
        match answer {
            Ok(answer) => Ok(Some(SecretVersions {
                deleted: answer.deleted_date().is_some(),
                stages: answer
                    .version_ids_to_stages()
                    .map(|stages| {
                        stages
                            .iter()
                            .map(|(id, labels)| (id.clone(), labels.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            })),
            Err(error) if error.is_code("ResourceNotFoundException") => Ok(None),
            Err(error) => Err(error),
        }
    }
}
