//! `--record FILE`'s interceptor: every SDK client deployer builds carries it, and while a
//! recording is open it appends one line per attempt of every AWS call, redacted by
//! `domain::recording` and masked like every other output.
use std::io::Write;
use std::sync::Mutex;

use aws_sdk_ecs::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;

use crate::domain::recording;
use crate::output;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

static RECORDING: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Starts recording into `file` (opened by the caller, before any call is made).
pub fn start(file: std::fs::File) {
    *RECORDING.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
}

/// Appends one line (a JSON document) to the recording, if one is open.
pub fn write_line(line: &Value) {
    let mut recording = RECORDING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(file) = recording.as_mut() {
        // Masked like every line deployer writes: a registered secret that slipped into a
        // member the redaction does not know is still not written.
        let text = output::redact(&line.to_string());
        let _ = writeln!(file, "{text}");
        let _ = file.flush();
    }
}

fn recording() -> bool {
    RECORDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some()
}

/// The request of the attempt in flight, kept between transmit and the attempt's end.
#[derive(Debug, Clone)]
struct Sent(Value);

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

/// The interceptor every client gets.
#[derive(Debug, Clone, Default)]
pub struct Recorder;

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "deployer::Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if recording() {
            let body = context.request().body().bytes().unwrap_or_default();
            cfg.interceptor_state()
                .store_put(Sent(recording::body(body)));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !recording() {
            return Ok(());
        }
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|metadata| (metadata.service().to_string(), metadata.name().to_string()))
            .unwrap_or_default();
        let request = cfg
            .load::<Sent>()
            .map(|sent| sent.0.clone())
            .unwrap_or(Value::Null);
        let (status, answer) = match context.response() {
            Some(response) => (
                Some(response.status().as_u16()),
                recording::body(response.body().bytes().unwrap_or_default()),
            ),
            None => (None, Value::Null),
        };
        write_line(&recording::call_line(
            &now(),
            &service,
            &operation,
            request,
            status,
            answer,
        ));
        Ok(())
    }
}

/// The time as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let whole =
        crate::domain::service_deployment::timestamp_text(&serde_json::json!(since.as_secs()))
            .unwrap_or_default();
    whole.replacen('Z', &format!(".{:03}Z", since.subsec_millis()), 1)
}
