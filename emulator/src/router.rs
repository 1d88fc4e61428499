//! Serves the AWS APIs on the emulator's port: each request is decoded (`protocol`), may meet
//! an injected fault (`faults`), and goes to the API module of the service its target names.
//! Only `main` imports it.
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::api::{self, Context};
use crate::faults::Fault;
use crate::protocol::{self, ApiError};
use crate::state::rand_id;

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
    let request = protocol::decode(request).await;
    if context.settings.faults.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(
            context.settings.faults.delay_ms,
        ))
        .await;
    }
    if request.query {
        return Ok(handle_query(&context, &request.body).await);
    }
    let target = request.target;
    let input = protocol::json_input(&request.body);
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
        Fault::AccessDenied => {
            let prefix = iam_prefix(service);
            Err(ApiError::client(
                "AccessDeniedException",
                format!(
                    "User: arn:aws:sts::123456789012:assumed-role/deployer-ci/deployer is not \
                     authorized to perform: {prefix}:{operation} because no identity-based \
                     policy allows the {prefix}:{operation} action"
                ),
            ))
        }
        Fault::None => match service {
            "AmazonEC2ContainerServiceV20141113" => {
                api::ecs::handle(&context, operation, &input).await
            }
            "AmazonEC2ContainerRegistry_V20150921" => {
                api::ecr::handle(&context, operation, &input).await
            }
            "Logs_20140328" => api::logs::handle(&context, operation, &input).await,
            "CodeDeploy_20141006" => api::codedeploy::handle(&context, operation, &input).await,
            "SpencerFrontendService" => api::ecr::handle_public(&context, operation).await,
            _ => Err(ApiError::client(
                "UnknownOperationException",
                format!("unknown target {target:?}"),
            )),
        },
    };
    Ok(protocol::json_response(answer, rand_id()))
}

/// The IAM service prefix of a JSON protocol target, as AccessDenied messages name actions.
fn iam_prefix(service: &str) -> &'static str {
    match service {
        "AmazonEC2ContainerRegistry_V20150921" => "ecr",
        "Logs_20140328" => "logs",
        "CodeDeploy_20141006" => "codedeploy",
        "SpencerFrontendService" => "ecr-public",
        "AWSEvents" => "events",
        "AmazonSSM" => "ssm",
        "secretsmanager" => "secretsmanager",
        _ => "ecs",
    }
}

/// A Query request: ELBv2's, the one service the emulator answers on that protocol.
async fn handle_query(context: &Context, body: &[u8]) -> Response<Full<Bytes>> {
    let request_id = protocol::uuid(rand_id());
    let parameters = protocol::query_parameters(body);
    let action = parameters
        .iter()
        .find(|(key, _)| key == "Action")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    let mut fault = context.faults.next(&context.settings.faults);
    if matches!(fault, Fault::None) {
        fault = context
            .operation_faults
            .next(&context.settings.faults, action);
    }
    let answer = match fault {
        Fault::Throttle => Err(ApiError::client("Throttling", "Rate exceeded")),
        Fault::ServerError => Err(ApiError {
            code: "InternalFailure",
            message: "injected server error".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }),
        Fault::AccessDenied => Err(ApiError::client("AccessDenied", "not authorized")),
        Fault::None => api::elb::handle(context, &parameters, &request_id).await,
    };
    let (status, xml) = match answer {
        Ok(xml) => (StatusCode::OK, xml),
        Err(error) => (error.status, api::elb::render_error(&error, &request_id)),
    };
    protocol::xml_response(status, xml, request_id)
}
