//! The AWS JSON 1.1 protocol: POST with `X-Amz-Target: Service.Operation`, JSON in and out,
//! errors as `{"__type": Code, "message": …}` with a 400 (or 500) status; and the AWS Query
//! protocol ELBv2 speaks: no target, `Action=…&Version=…` form-encoded in, XML out.
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::faults::{Counter, Fault};
use crate::state::State;
use crate::Settings;

pub struct Context {
    pub settings: Settings,
    pub state: Arc<Mutex<State>>,
    pub faults: Counter,
    pub operation_faults: crate::faults::OperationCounts,
}

/// An AWS error answer.
#[derive(Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: StatusCode,
}

impl ApiError {
    pub fn client(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }
}

pub type Answer = Result<Value, ApiError>;

pub async fn serve(listener: tokio::net::TcpListener, context: Arc<Context>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let context = context.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| handle(context.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    context: Arc<Context>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let target = header("x-amz-target");
    let query = target.is_empty()
        && header("content-type").starts_with("application/x-www-form-urlencoded");
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if context.settings.faults.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(
            context.settings.faults.delay_ms,
        ))
        .await;
    }
    if query {
        return Ok(handle_query(&context, &body).await);
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let (service, operation) = target.split_once('.').unwrap_or(("", target.as_str()));
    let mut fault = context.faults.next(&context.settings.faults);
    if matches!(fault, Fault::None) {
        fault = context
            .operation_faults
            .next(&context.settings.faults, operation);
    }
    let answer = match fault {
        Fault::Throttle => Err(ApiError::client("ThrottlingException", "Rate exceeded")),
        Fault::ServerError => Err(ApiError {
            code: "ServerException",
            message: "injected server error".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }),
        Fault::AccessDenied => Err(ApiError::client(
            "AccessDeniedException",
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/deployer-ci/deployer is not \
                 authorized to perform: ecs:{operation} because no identity-based policy allows \
                 the ecs:{operation} action"
            ),
        )),
        Fault::None => match service {
            "AmazonEC2ContainerServiceV20141113" => {
                crate::ecs::handle(&context, operation, &input).await
            }
            "AmazonEC2ContainerRegistry_V20150921" => {
                crate::ecr::handle(&context, operation, &input).await
            }
            "Logs_20140328" => crate::logs::handle(&context, operation, &input).await,
            "CodeDeploy_20141006" => crate::codedeploy::handle(&context, operation, &input).await,
            "SpencerFrontendService" => crate::ecr::handle_public(&context, operation).await,
            _ => Err(ApiError::client(
                "UnknownOperationException",
                format!("unknown target {target:?}"),
            )),
        },
    };
    let (status, value) = match answer {
        Ok(value) => (StatusCode::OK, value),
        Err(error) => (
            error.status,
            json!({"__type": error.code, "message": error.message}),
        ),
    };
    let response = Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", format!("{:032x}", rand_id()))
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("valid response");
    Ok(response)
}

/// A Query request: ELBv2's, the one service the emulator answers on that protocol.
async fn handle_query(context: &Context, body: &[u8]) -> Response<Full<Bytes>> {
    let request_id = uuid(rand_id());
    let parameters: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let answer = match context.faults.next(&context.settings.faults) {
        Fault::Throttle => Err(ApiError::client("Throttling", "Rate exceeded")),
        Fault::ServerError => Err(ApiError {
            code: "InternalFailure",
            message: "injected server error".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }),
        Fault::AccessDenied => Err(ApiError::client("AccessDenied", "not authorized")),
        Fault::None => crate::elb::handle(context, &parameters, &request_id).await,
    };
    let (status, xml) = match answer {
        Ok(xml) => (StatusCode::OK, xml),
        Err(error) => (error.status, crate::elb::render_error(&error, &request_id)),
    };
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .header("x-amzn-requestid", request_id)
        .body(Full::new(Bytes::from(xml)))
        .expect("valid response")
}

/// A request id in the UUID form AWS's Query services use.
fn uuid(id: u128) -> String {
    let hex = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A request id / deployment id source; unique enough for one emulator process.
pub fn rand_id() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    nanos ^ (u128::from(COUNTER.fetch_add(1, Ordering::SeqCst)) << 64)
}

/// Reads a required string parameter, with AWS's wording when it is missing.
pub fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    input
        .get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            ApiError::client(
                "InvalidParameterException",
                format!("{name} must not be null or empty."),
            )
        })
}
