//! The BuildKit session a build through the daemon runs beside: deployer opens `/session`,
//! the daemon upgrades it to HTTP/2 and calls back into it, as a gRPC client, for registry
//! credentials, `--secret` values and the SSH agent. bollard's own build session serves only
//! registry credentials, so deployer serves its own. Secret values leave this process only as
//! answers to the daemon's `GetSecret` calls on this connection.
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bollard_buildkit_proto::health::health_server::{Health, HealthServer};
use bollard_buildkit_proto::health::{
    health_check_response::ServingStatus, HealthCheckRequest, HealthCheckResponse,
    HealthListRequest, HealthListResponse,
};
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use bollard_buildkit_proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use bollard_buildkit_proto::moby::filesync::v1::auth_server::{Auth, AuthServer};
use bollard_buildkit_proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};
use bollard_buildkit_proto::moby::sshforward::v1::ssh_server::{Ssh, SshServer};
use bollard_buildkit_proto::moby::sshforward::v1::{
    BytesMessage, CheckAgentRequest, CheckAgentResponse,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status, Streaming};

use super::tls::DaemonTls;
use crate::secret::Secret;

/// BuildKit refuses secrets above this size; so does deployer, before sending one.
pub const MAX_SECRET_BYTES: u64 = 500 * 1024;

/// Where a `--secret` value is read from when the build asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    /// The value itself, read from the environment variable when the settings were resolved.
    Value(Secret),
}

/// What the session offers the daemon.
#[derive(Debug, Clone, Default)]
pub struct SessionServices {
    /// Registry host and its user name and password.
    pub registry: Option<(String, String, Secret)>,
    pub secrets: HashMap<String, SecretSource>,
    /// The SSH agent's socket, forwarded as `default`.
    pub ssh_agent: Option<PathBuf>,
}

/// A session being served; dropping it ends it.
pub struct Session {
    pub id: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A fresh session ID (the Docker CLI's are random too): the daemon keys the session by it.
pub fn new_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    let high = hasher.finish();
    hasher.write_u8(1);
    format!("deployer{high:016x}{:016x}", hasher.finish())
}

/// An open connection to the daemon, as `DOCKER_HOST` names it.
pub trait DaemonStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> DaemonStream for T {}

/// Connects to the daemon's socket: `unix://PATH`, or `tcp://HOST:PORT` in plain text or, with
/// `tls`, over TLS with the client certificate.
pub async fn dial(host: &str, tls: Option<&DaemonTls>) -> io::Result<Box<dyn DaemonStream>> {
    if let Some(path) = host.strip_prefix("unix://") {
        return Ok(Box::new(tokio::net::UnixStream::connect(path).await?));
    }
    if let Some(address) = host.strip_prefix("tcp://") {
        let address = address.trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(address).await?;
        return match tls {
            Some(tls) => Ok(Box::new(super::tls::connect(tls, address, stream).await?)),
            None => Ok(Box::new(stream)),
        };
    }
    Err(io::Error::other(format!(
        "a BuildKit session cannot be opened to {host}"
    )))
}

/// Opens the session on `stream` (`/session`, upgraded to HTTP/2) and serves it until dropped.
pub async fn open(
    stream: Box<dyn DaemonStream>,
    api_version: &str,
    services: SessionServices,
) -> Result<Session, OpenError> {
    let id = new_id();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    let mut request = hyper::Request::post(format!("/v{api_version}/session"))
        .header(hyper::header::HOST, "docker")
        .header(hyper::header::CONNECTION, "Upgrade")
        .header(hyper::header::UPGRADE, "h2c")
        .header("X-Docker-Expose-Session-Uuid", &id)
        .header("X-Docker-Expose-Session-Name", "deployer")
        .header("X-Docker-Expose-Session-Sharedkey", &id);
    for method in methods(&services) {
        request = request.header("X-Docker-Expose-Session-Grpc-Method", method);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    if response.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|body| body.to_bytes())
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("the daemon answered /session with {status}"));
        return Err(OpenError::Refused(message));
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(io::Error::other)?;
    let connection = SessionConnection(TokioIo::new(upgraded));
    let SessionServices {
        registry,
        secrets,
        ssh_agent,
    } = services;
    let mut router = tonic::transport::Server::builder()
        .add_service(HealthServer::new(Healthy))
        .add_service(AuthServer::new(Credentials { registry }))
        .add_service(SecretsServer::new(SecretStore { secrets }));
    if let Some(socket) = ssh_agent {
        router = router.add_service(SshServer::new(SshAgent { socket }));
    }
    let server = tokio::spawn(async move {
        let incoming = futures_util::stream::iter([Ok::<_, io::Error>(connection)]);
        if let Err(error) = router.serve_with_incoming(incoming).await {
            tracing::debug!(%error, "the BuildKit session ended");
        }
    });
    Ok(Session { id, server })
}

/// Why a session could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The connection failed.
    Connection(io::Error),
    /// The daemon answered, and refused: its message.
    Refused(String),
}

impl From<io::Error> for OpenError {
    fn from(error: io::Error) -> Self {
        OpenError::Connection(error)
    }
}

/// The gRPC methods the daemon may call, announced when the session opens.
fn methods(services: &SessionServices) -> Vec<&'static str> {
    let mut methods = vec![
        "/grpc.health.v1.Health/Check",
        "/moby.filesync.v1.Auth/Credentials",
        "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    ];
    if services.ssh_agent.is_some() {
        methods.push("/moby.sshforward.v1.SSH/CheckAgent");
        methods.push("/moby.sshforward.v1.SSH/ForwardAgent");
    }
    methods
}

/// The upgraded connection, as tonic's server takes it.
struct SessionConnection(TokioIo<hyper::upgrade::Upgraded>);

impl Connected for SessionConnection {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for SessionConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for SessionConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, buffer)
    }
    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }
}

/// The daemon checks the session's health and closes it when unanswered.
struct Healthy;

#[tonic::async_trait]
impl Health for Healthy {
    async fn check(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    async fn list(
        &self,
        _request: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("the daemon checks, it does not list"))
    }

    type WatchStream = AgentStreamOf<HealthCheckResponse>;

    async fn watch(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented(
            "the daemon checks, it does not watch",
        ))
    }
}

/// Registry credentials for base images and `--cache-from` images in the ECR registry; other
/// registries are pulled from anonymously.
struct Credentials {
    registry: Option<(String, String, Secret)>,
}

#[tonic::async_trait]
impl Auth for Credentials {
    async fn credentials(
        &self,
        request: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        let host = &request.get_ref().host;
        let answer = match &self.registry {
            Some((registry, username, password)) if registry == host => CredentialsResponse {
                username: username.clone(),
                secret: password.expose().to_string(),
            },
            _ => CredentialsResponse::default(),
        };
        Ok(Response::new(answer))
    }

    async fn fetch_token(
        &self,
        _request: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("deployer answers Credentials only"))
    }

    async fn get_token_authority(
        &self,
        _request: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("deployer answers Credentials only"))
    }

    async fn verify_token_authority(
        &self,
        _request: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("deployer answers Credentials only"))
    }
}

struct SecretStore {
    secrets: HashMap<String, SecretSource>,
}

#[tonic::async_trait]
impl Secrets for SecretStore {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = &request.get_ref().id;
        let data = match self.secrets.get(id) {
            Some(SecretSource::Value(value)) => value.expose().as_bytes().to_vec(),
            Some(SecretSource::File(path)) => tokio::fs::read(path).await.map_err(|error| {
                Status::failed_precondition(format!(
                    "secret {id}: cannot read {}: {error}",
                    path.display()
                ))
            })?,
            None => {
                return Err(Status::not_found(format!(
                    "secret {id} not found: pass --secret id={id},src=FILE or --secret id={id},env=VARIABLE"
                )))
            }
        };
        if data.len() as u64 > MAX_SECRET_BYTES {
            return Err(Status::failed_precondition(format!(
                "secret {id} is larger than BuildKit's limit of 500 KiB"
            )));
        }
        Ok(Response::new(GetSecretResponse { data }))
    }
}

/// `--ssh default`: the agent at `SSH_AUTH_SOCK`, its bytes passed through both ways.
struct SshAgent {
    socket: PathBuf,
}

/// A server stream of gRPC answers.
type AgentStreamOf<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;
type AgentStream = AgentStreamOf<BytesMessage>;

#[tonic::async_trait]
impl Ssh for SshAgent {
    async fn check_agent(
        &self,
        request: Request<CheckAgentRequest>,
    ) -> Result<Response<CheckAgentResponse>, Status> {
        let id = &request.get_ref().id;
        if !id.is_empty() && id != "default" {
            return Err(Status::not_found(format!(
                "ssh {id}: deployer forwards only --ssh default (the agent at SSH_AUTH_SOCK)"
            )));
        }
        Ok(Response::new(CheckAgentResponse {}))
    }

    type ForwardAgentStream = AgentStream;

    async fn forward_agent(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<AgentStream>, Status> {
        let agent = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|error| {
                Status::unavailable(format!(
                    "the SSH agent at {} cannot be reached: {error}",
                    self.socket.display()
                ))
            })?;
        let (agent_read, mut agent_write) = agent.into_split();
        let mut from_daemon = request.into_inner();
        tokio::spawn(async move {
            while let Some(Ok(message)) = from_daemon.next().await {
                if agent_write.write_all(&message.data).await.is_err() {
                    break;
                }
            }
            let _ = agent_write.shutdown().await;
        });
        let to_daemon = agent_answers(agent_read).map(|chunk| {
            chunk
                .map(|data| BytesMessage { data })
                .map_err(|error| Status::unavailable(error.to_string()))
        });
        Ok(Response::new(Box::pin(to_daemon)))
    }
}

/// The agent's answers as a stream of chunks, ending with the agent's connection.
fn agent_answers(
    reader: tokio::net::unix::OwnedReadHalf,
) -> impl Stream<Item = io::Result<Vec<u8>>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buffer = vec![0; 16 * 1024];
        match reader.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok(buffer), Some(reader)))
            }
            Err(error) => Some((Err(error), None)),
        }
    })
}
