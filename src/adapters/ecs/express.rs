//! ECS Express Mode's calls: DescribeExpressGatewayService and UpdateExpressGatewayService, as
//! raw JSON (the primary container goes back to ECS whole, with fields this SDK may not know).
use std::sync::Arc;

use serde_json::Value;

use super::super::raw_json::{CaptureBody, ReplaceBody};
use super::Ecs;
use crate::error::Error;

impl Ecs {
    /// DescribeExpressGatewayService's answer exactly as ECS sent it.
    pub async fn describe_express_gateway_service(
        &self,
        service_arn: &str,
    ) -> Result<Value, Error> {
        let capture = CaptureBody::default();
        let sent = self
            .client
            .describe_express_gateway_service()
            .service_arn(service_arn)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await;
        Ok(capture.answer("ecs:DescribeExpressGatewayService", sent)?)
    }

    /// One UpdateExpressGatewayService call with `input` as the body; ECS's answer as it is.
    pub async fn update_express_gateway_service(&self, input: &Value) -> Result<Value, Error> {
        let bytes = serde_json::to_vec(input)
            .map_err(|e| Error::usage(format!("UpdateExpressGatewayService JSON: {e}")))?;
        let capture = CaptureBody::default();
        let sent = self
            .client
            .update_express_gateway_service()
            .service_arn(input["serviceArn"].as_str().unwrap_or_default())
            .customize()
            .interceptor(ReplaceBody(Arc::new(bytes)))
            .interceptor(capture.clone())
            .send()
            .await;
        Ok(capture.answer("ecs:UpdateExpressGatewayService", sent)?)
    }
}
