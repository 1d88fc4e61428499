//! Request and response bodies as JSON documents of ours, for any AWS SDK client: what AWS
//! answered, read whole (the SDK's types drop fields newer than the SDK), and what to send,
//! sent whole (so those fields go back). Interceptors are shared by every SDK crate.
use std::sync::{Arc, Mutex};

use aws_sdk_ecs::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use super::aws::ApiError;
use crate::error::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Keeps a copy of the raw response body, read after the SDK has buffered it.
#[derive(Debug, Clone, Default)]
pub struct CaptureBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "deployer::CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Only answers: an error's body is the SDK's to word.
        if !context.response().status().is_success() {
            return Ok(());
        }
        if let Some(bytes) = context.response().body().bytes() {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

impl CaptureBody {
    fn has_body(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// The answer of a call whose JSON is all deployer reads: a successful answer the SDK's
    /// types cannot hold (a number where the model says string, as moto sends containers'
    /// `cpu`) is still the answer.
    pub fn answer<T, R>(
        &self,
        action: &'static str,
        sent: Result<
            T,
            aws_sdk_ecs::error::SdkError<
                impl aws_sdk_ecs::error::ProvideErrorMetadata
                    + std::error::Error
                    + Send
                    + Sync
                    + 'static,
                R,
            >,
        >,
    ) -> Result<Value, ApiError>
    where
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match sent {
            Ok(_) => {}
            Err(unreadable @ aws_sdk_ecs::error::SdkError::ResponseError(_)) if self.has_body() => {
                // The reason only: the response itself (a task definition's environment values,
                // a token) never reaches the log.
                let reason = std::error::Error::source(&unreadable)
                    .map(|source| source.to_string())
                    .unwrap_or_default();
                tracing::debug!(
                    "{action}: the SDK cannot read the answer ({reason}); reading it as JSON"
                );
            }
            Err(error) => return Err(ApiError::from_sdk(action, error)),
        }
        self.json(action).map_err(|error| ApiError {
            action,
            kind: super::aws::ApiErrorKind::Other,
            code: None,
            message: error.message,
        })
    }

    pub fn json(&self, action: &str) -> Result<Value, Error> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| Error::environment(format!("{action} answered no body")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::environment(format!("{action} answered invalid JSON: {e}")))
    }
}

/// Sends a JSON document of ours as the request body, before the request is signed.
#[derive(Debug, Clone)]
pub struct ReplaceBody(pub Arc<Vec<u8>>);

impl Intercept for ReplaceBody {
    fn name(&self) -> &'static str {
        "deployer::ReplaceBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.as_slice());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        Ok(())
    }
}
