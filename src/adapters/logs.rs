//! Amazon CloudWatch Logs: the lines a task's containers wrote through the `awslogs` driver,
//! read forward from the start of their stream, page by page.
use super::aws::{ApiError, AwsConfig};
use super::recorder::Recorder;

/// One page of a stream: its events in order and the token that reads on after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// Each event's time (milliseconds since the epoch) and message.
    pub events: Vec<(i64, String)>,
    /// Equal to the token sent when there is nothing newer yet.
    pub next_forward_token: Option<String>,
}

pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    pub fn new(config: &AwsConfig) -> Self {
        Logs {
            client: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
        }
    }

    /// The events of `stream` after `token` (from its first event without one). A stream the
    /// driver has not created yet is `ApiErrorKind::NotFound`.
    pub async fn events(
        &self,
        group: &str,
        stream: &str,
        token: Option<&str>,
    ) -> Result<LogPage, ApiError> {
        let answer = self
            .client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.map(str::to_string))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("logs:GetLogEvents", e))?;
        Ok(LogPage {
            events: answer
                .events()
                .iter()
                .map(|event| {
                    (
                        event.timestamp().unwrap_or_default(),
                        event.message().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            next_forward_token: answer.next_forward_token().map(str::to_string),
        })
    }
}
