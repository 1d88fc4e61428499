//! The AWS JSON 1.1 protocol: POST with `X-Amz-Target: Service.Operation`, JSON in and out,
//! errors as `{"__type": Code, "message": …}` with a 400 (or 500) status; and the AWS Query
//! protocol ELBv2 speaks: no target, `Action=…&Version=…` form-encoded in, XML out. Decoding
//! requests and encoding answers only: which service answers is `router`'s business. Imports
//! nothing of the emulator; the API modules and the router import it.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

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

/// A request as the router needs it: its `X-Amz-Target`, whether it speaks the Query protocol,
/// and its body.
pub struct Decoded {
    pub target: String,
    pub query: bool,
    pub body: Bytes,
}

/// Reads a request's target header, content type and body.
pub async fn decode(request: Request<Incoming>) -> Decoded {
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
    Decoded {
        target,
        query,
        body,
    }
}

/// A JSON 1.1 request's input (`{}` when the body is not JSON).
pub fn json_input(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(json!({}))
}

/// A Query request's parameters, in order.
pub fn query_parameters(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The JSON 1.1 response for an answer: the value, or the error's `__type` and message.
pub fn json_response(answer: Answer, request_id: u128) -> Response<Full<Bytes>> {
    let (status, value) = match answer {
        Ok(value) => (StatusCode::OK, value),
        Err(error) => (
            error.status,
            json!({"__type": error.code, "message": error.message}),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", format!("{request_id:032x}"))
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("valid response")
}

/// The Query protocol's response: XML with a status, and the request id.
pub fn xml_response(status: StatusCode, xml: String, request_id: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .header("x-amzn-requestid", request_id)
        .body(Full::new(Bytes::from(xml)))
        .expect("valid response")
}

/// A request id in the UUID form AWS's Query services use.
pub fn uuid(id: u128) -> String {
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
