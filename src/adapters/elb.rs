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

/// A listener as the smoke-test gate needs it: how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerAddress {
    /// HTTP, HTTPS, TCP…
    pub protocol: String,
    pub dns_name: String,
    pub port: i32,
}

impl Elb {
    /// The first `path-pattern` value of listener rule `rule_arn` (DescribeRules), if it has one.
    pub async fn rule_path_pattern(&self, rule_arn: &str) -> Result<Option<String>, ApiError> {
        let rules = self
            .client
            .describe_rules()
            .rule_arns(rule_arn)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("elasticloadbalancing:DescribeRules", e))?;
        Ok(rules
            .rules()
            .first()
            .and_then(|rule| {
                rule.conditions()
                    .iter()
                    .find(|condition| condition.field() == Some("path-pattern"))
            })
            .and_then(|condition| {
                condition
                    .path_pattern_config()
                    .and_then(|config| config.values().first())
                    .or_else(|| condition.values().first())
            })
            .cloned())
    }

    /// Where `listener_arn` listens: DescribeListeners for its protocol, port and load balancer,
    /// DescribeLoadBalancers for the balancer's DNS name.
    pub async fn listener_address(
        &self,
        listener_arn: &str,
    ) -> Result<Option<ListenerAddress>, ApiError> {
        let listeners = self
            .client
            .describe_listeners()
            .listener_arns(listener_arn)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("elasticloadbalancing:DescribeListeners", e))?;
        let Some(listener) = listeners.listeners().first() else {
            return Ok(None);
        };
        let (Some(port), Some(balancer)) = (listener.port(), listener.load_balancer_arn()) else {
            return Ok(None);
        };
        let protocol = listener
            .protocol()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let balancers = self
            .client
            .describe_load_balancers()
            .load_balancer_arns(balancer)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("elasticloadbalancing:DescribeLoadBalancers", e))?;
        let Some(dns_name) = balancers
            .load_balancers()
            .first()
            .and_then(|balancer| balancer.dns_name())
        else {
            return Ok(None);
        };
        Ok(Some(ListenerAddress {
            protocol,
            dns_name: dns_name.to_string(),
            port,
        }))
    }
}
