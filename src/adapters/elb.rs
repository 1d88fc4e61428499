//! Elastic Load Balancing v2: the health of a target group's targets, which `--wait-until
//! running` waits on for services behind a load balancer.
use super::aws::{ApiError, AwsConfig};
use super::recorder::Recorder;
use crate::domain::rollout::TargetHealth;

pub struct Elb {
    client: aws_sdk_elasticloadbalancingv2::Client,
}

impl Elb {
    pub fn new(config: &AwsConfig) -> Self {
        Elb {
            client: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
        }
    }

    /// Every registered target of the target group with its health.
    pub async fn target_health(
        &self,
        target_group_arn: &str,
    ) -> Result<Vec<TargetHealth>, ApiError> {
        let answer = self
            .client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("elasticloadbalancing:DescribeTargetHealth", e))?;
        Ok(answer
            .target_health_descriptions()
            .iter()
            .map(|description| {
                let target = description.target();
                let health = description.target_health();
                TargetHealth {
                    id: target.and_then(|t| t.id()).unwrap_or_default().to_string(),
                    port: target.and_then(|t| t.port()),
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_string()),
                }
            })
            .collect())
    }
}
