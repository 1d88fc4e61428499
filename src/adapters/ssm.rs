//! AWS Systems Manager Parameter Store: whether the parameters a task definition's secrets name
//! exist. Values are never asked for decrypted and never read.
use super::aws::{ApiError, AwsConfig};
use super::recorder::Recorder;

pub struct Ssm {
    client: aws_sdk_ssm::Client,
}

impl Ssm {
    /// A client for `region` (the region of a parameter's ARN), or the configuration's region.
    pub fn in_region(config: &AwsConfig, region: Option<&str>) -> Self {
        let mut builder = aws_sdk_ssm::config::Builder::from(config.sdk()).interceptor(Recorder);
        if let Some(region) = region {
            builder = builder.region(aws_sdk_ssm::config::Region::new(region.to_string()));
        }
        Ssm {
            client: aws_sdk_ssm::Client::from_conf(builder.build()),
        }
    }

    /// Which of `names` (parameter names or ARNs) do not exist: GetParameters answers them in
    /// `InvalidParameters` (Systems Manager API reference, GetParameters), 10 names per call.
    pub async fn missing(&self, names: &[String]) -> Result<Vec<String>, ApiError> {
        let mut missing = Vec::new();
        for chunk in names.chunks(10) {
            let answer = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(false)
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("ssm:GetParameters", e))?;
            missing.extend(answer.invalid_parameters().iter().cloned());
        }
        Ok(missing)
    }
}
