//! The Docker engine: builds from a streamed context, tags, and pushes with registry
//! credentials sent per request (never written to disk). Streams are read to their end and an
//! error anywhere in them fails the call with the daemon's own message.
mod session;
mod tls;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bollard::auth::DockerCredentials;
use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{
    BuildImageOptions, BuilderVersion, PushImageOptions, TagImageOptions,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

pub use session::{SecretSource, MAX_SECRET_BYTES};

use crate::domain::build_progress::{self, BuildProgress};
use crate::domain::ecr_token::RegistryCredentials;
use crate::domain::push_progress::PushProgress;
use crate::error::Error;
use crate::output;

/// What went wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("the Docker daemon at {host} cannot be reached: {message}")]
    Unreachable { host: String, message: String },
    #[error("the Docker build failed: {message}")]
    BuildFailed { message: String },
    #[error("the registry {registry} refused the credentials: {message}")]
    Unauthorized { registry: String, message: String },
    #[error("pushing {reference} failed: {message}")]
    PushFailed { reference: String, message: String },
    #[error("image {image} does not exist in the Docker daemon")]
    ImageMissing { image: String },
    #[error("Docker API call {call} failed: {message}")]
    Api { call: &'static str, message: String },
}

impl From<DockerError> for Error {
    fn from(error: DockerError) -> Self {
        let text = error.to_string();
        match error {
            DockerError::Unreachable { .. } => Error::environment(text).with_hint(
                "start the Docker daemon, or point DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for TLS) at one; \
                 in CircleCI add a setup_remote_docker step or use a machine executor",
            ),
            DockerError::BuildFailed { message } => {
                Error::failed(text).with_hint(build_failure_hint(&message))
            }
            DockerError::Unauthorized { .. } => Error::environment(text).with_hint(
                "the credentials came from ecr:GetAuthorizationToken; check --registry-id and --registry, and that the role may push (ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage, ecr:BatchCheckLayerAvailability)",
            ),
            DockerError::PushFailed { .. } => Error::failed(text).with_hint(
                "the Docker engine already retried the upload; check that the registry is up and reachable from the engine, then push again",
            ),
            DockerError::ImageMissing { .. } => {
                Error::usage(text).with_hint("with --no-build, --image must name an image the daemon already has (docker images)")
            }
            DockerError::Api { .. } => Error::environment(text),
        }
    }
}

/// What to do about a failed build: look at the step that failed, unless the daemon has no
/// `bridge` network for RUN steps to join (dockerd --bridge=none), which no Dockerfile fixes.
fn build_failure_hint(message: &str) -> &'static str {
    if message.contains("network bridge not found") {
        "this Docker daemon has no bridge network for RUN steps: pass --network none (no network) \
         or --network host (the host's), or set DEPLOYER_BUILD_NETWORK"
    } else {
        "the build output above shows the step that failed"
    }
}

/// Build parameters, in the daemon's terms.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub builder: Builder,
    pub dockerfile: String,
    pub tag: String,
    pub build_args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub pull: bool,
    /// `networkmode`: default, none or host; `None` leaves it to the daemon.
    pub network: Option<String>,
    /// `extrahosts`: `HOST:IP` entries for the RUN steps' /etc/hosts.
    pub extra_hosts: Vec<String>,
    /// BuildKit only: inline cache metadata in the image (`BUILDKIT_INLINE_CACHE=1`).
    pub cache_inline: bool,
    /// BuildKit only: `RUN --mount=type=secret,id=ID` values, by ID.
    pub secrets: HashMap<String, SecretSource>,
    /// BuildKit only: the SSH agent's socket, forwarded as `--ssh default`.
    pub ssh_agent: Option<PathBuf>,
}

/// Which of the daemon's builders runs the build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Builder {
    /// The daemon's classic builder (`/build`, version 1): what `docker build` ran before 23.0.
    #[default]
    Classic,
    /// The daemon's embedded BuildKit (`/build`, version 2, with a session).
    BuildKit,
}

/// What the daemon can build with, from its version answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// `20.10.24`.
    pub version: String,
    /// The API version agreed with it, `1.41`.
    pub api_version: String,
    /// `linux` or `windows`.
    pub os: String,
    /// The host's architecture in Docker's terms: `amd64`, `arm64`.
    pub architecture: String,
    /// Why BuildKit cannot be used through this connection, if it cannot.
    pub buildkit_unavailable: Option<String>,
}

/// BuildKit builds through `/build` with a session from this API version (Engine 18.09).
const BUILDKIT_MIN_API: (usize, usize) = (1, 39);

/// How long a short call (ping, inspect, tag) may wait for the daemon's answer: bollard's default.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a build or push may wait for the daemon's first answer. The daemon answers a build
/// only once the whole context has arrived, which over a slow link to a remote engine
/// (`setup_remote_docker`) takes as long as it takes; like the Docker CLI, no practical limit.
const STREAM_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// A connection to one daemon, with the API version agreed with it.
pub struct Docker {
    /// For short calls, bounded by `CALL_TIMEOUT`.
    client: bollard::Docker,
    /// The same connection for builds and pushes, bounded by `STREAM_TIMEOUT`.
    streaming: bollard::Docker,
    host: String,
    /// TLS for connections deployer opens itself (the BuildKit session), as bollard's.
    tls: Option<tls::DaemonTls>,
}

impl Docker {
    /// Connects as the Docker CLI would: `DOCKER_HOST` (unix, tcp, with TLS when
    /// `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` are set), else the local socket.
    pub async fn connect() -> Result<Self, DockerError> {
        let host = crate::env::var(crate::env::DOCKER_HOST)
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let unreachable = |message: String| DockerError::Unreachable {
            host: host.clone(),
            message,
        };
        let client =
            bollard::Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        let client = client
            .negotiate_version()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        client
            .ping()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        tracing::debug!(host = %host, api = ?client.client_version(), "connected to the Docker daemon");
        let mut docker = Docker::with_timeouts(client, host);
        docker.tls = tls::DaemonTls::from_env(&docker.host);
        Ok(docker)
    }

    fn with_timeouts(client: bollard::Docker, host: String) -> Self {
        Docker {
            streaming: client.clone().with_timeout(STREAM_TIMEOUT),
            client: client.with_timeout(CALL_TIMEOUT),
            host,
            tls: None,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The engine's version and whether its BuildKit can be reached from here.
    pub async fn engine(&self) -> Result<Engine, DockerError> {
        let version = self
            .client
            .version()
            .await
            .map_err(|e| api_error("version", &self.host, e))?;
        let agreed = self.client.client_version();
        let os = version.os.unwrap_or_else(|| "linux".to_string());
        let buildkit_unavailable = if (agreed.major_version, agreed.minor_version)
            < BUILDKIT_MIN_API
        {
            Some(format!(
                "the daemon speaks API {agreed}; BuildKit through the daemon needs API 1.39 (Engine 18.09) or newer"
            ))
        } else if os != "linux" {
            Some(format!(
                "the daemon runs on {os}; its builder has no BuildKit"
            ))
        } else if !self.host.starts_with("unix://") && !self.host.starts_with("tcp://") {
            Some(format!(
                "deployer opens BuildKit sessions over unix:// and tcp:// only, not {}",
                self.host
            ))
        } else {
            None
        };
        Ok(Engine {
            version: version.version.unwrap_or_else(|| "unknown".to_string()),
            api_version: agreed.to_string(),
            os,
            architecture: crate::domain::platform::docker_architecture(
                version.arch.as_deref().unwrap_or("amd64"),
            )
            .to_string(),
            buildkit_unavailable,
        })
    }

    /// Builds, printing the daemon's output line by line; returns the image ID.
    pub async fn build(
        &self,
        request: &BuildRequest,
        context: impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
        registry: Option<&RegistryCredentials>,
    ) -> Result<String, DockerError> {
        match request.builder {
            Builder::Classic => self.build_classic(request, context, registry).await,
            Builder::BuildKit => self.build_with_buildkit(request, context, registry).await,
        }
    }

    async fn build_classic(
        &self,
        request: &BuildRequest,
        context: impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
        registry: Option<&RegistryCredentials>,
    ) -> Result<String, DockerError> {
        let options = BuildImageOptions {
            dockerfile: request.dockerfile.clone(),
            t: Some(request.tag.clone()),
            nocache: request.no_cache,
            cachefrom: (!request.cache_from.is_empty()).then(|| request.cache_from.clone()),
            pull: request.pull.then(|| "1".to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(request.build_args.clone()),
            labels: Some(request.labels.clone()),
            platform: request.platform.clone().unwrap_or_default(),
            target: request.target.clone().unwrap_or_default(),
            networkmode: request.network.clone(),
            ..Default::default()
        };
        // Credentials for base images and cache sources in the same registry.
        let credentials = registry
            .map(|registry| HashMap::from([(registry.registry.clone(), credentials(registry))]));
        let hosts = request.extra_hosts.clone();
        let client = self
            .streaming
            .clone()
            .with_request_modifier(move |built| with_extra_hosts(built, &hosts));
        let mut stream = client.build_image(
            options.clone(),
            credentials.clone(),
            Some(bollard::body_try_stream(context)),
        );
        let mut image_id = None;
        let mut pending = String::new();
        let mut answered = false;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(error) if !answered && is_broken_upload(&error) => {
                    return Err(self.refusal_reason(options, credentials, error).await);
                }
                Err(error) => return Err(build_error(&self.host, error)),
            };
            answered = true;
            if let Some(text) = &info.stream {
                pending.push_str(text);
                while let Some(newline) = pending.find('\n') {
                    let line: String = pending.drain(..=newline).collect();
                    let line = line.trim_end();
                    if !line.is_empty() {
                        output::passthrough(line);
                    }
                }
            }
            if let Some(status) = &info.status {
                output::passthrough(status);
            }
            if let Some(error) = info.error_detail.and_then(|detail| detail.message) {
                flush_pending(&mut pending);
                return Err(DockerError::BuildFailed { message: error });
            }
            if let Some(BuildInfoAux::Default(image)) = info.aux {
                image_id = image.id.or(image_id);
            }
        }
        flush_pending(&mut pending);
        match image_id {
            Some(id) => Ok(id),
            // Older engines only announce the ID in the output; ask for the tag instead.
            None => self.image_id(&request.tag).await,
        }
    }

    /// Builds with the daemon's BuildKit: the context goes up as the request body (streamed, as
    /// for the classic builder), and a session beside it answers the daemon's calls for
    /// registry credentials, secrets and the SSH agent. The status stream is printed as lines.
    async fn build_with_buildkit(
        &self,
        request: &BuildRequest,
        context: impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
        registry: Option<&RegistryCredentials>,
    ) -> Result<String, DockerError> {
        let unreachable = |error: io::Error| DockerError::Unreachable {
            host: self.host.clone(),
            message: format!("cannot open a BuildKit session: {error}"),
        };
        let connection = session::dial(&self.host, self.tls.as_ref())
            .await
            .map_err(unreachable)?;
        let services = session::SessionServices {
            registry: registry.map(|registry| {
                (
                    registry.registry.clone(),
                    registry.username.clone(),
                    registry.password.clone(),
                )
            }),
            secrets: request.secrets.clone(),
            ssh_agent: request.ssh_agent.clone(),
        };
        let api_version = self.client.client_version().to_string();
        let session = match session::open(connection, &api_version, services).await {
            Ok(session) => session,
            Err(session::OpenError::Connection(error)) => return Err(unreachable(error)),
            Err(session::OpenError::Refused(message)) => {
                return Err(DockerError::BuildFailed { message })
            }
        };
        let mut build_args = request.build_args.clone();
        if request.cache_inline {
            build_args.insert("BUILDKIT_INLINE_CACHE".to_string(), "1".to_string());
        }
        let options = BuildImageOptions {
            dockerfile: request.dockerfile.clone(),
            t: Some(request.tag.clone()),
            nocache: request.no_cache,
            cachefrom: (!request.cache_from.is_empty()).then(|| request.cache_from.clone()),
            pull: request.pull.then(|| "1".to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(build_args),
            labels: Some(request.labels.clone()),
            platform: request.platform.clone().unwrap_or_default(),
            target: request.target.clone().unwrap_or_default(),
            networkmode: request.network.clone(),
            session: Some(session.id.clone()),
            // bollard's BuildKit mode opens its own session, which serves registry credentials
            // only; deployer's session serves secrets and SSH too, so the request goes out in
            // bollard's classic mode and `select_buildkit` asks the daemon for BuildKit.
            version: BuilderVersion::BuilderV1,
            ..Default::default()
        };
        let hosts = request.extra_hosts.clone();
        let client = self
            .streaming
            .clone()
            .with_request_modifier(move |built| with_extra_hosts(select_buildkit(built), &hosts));
        let mut stream = client.build_image(options, None, Some(bollard::body_try_stream(context)));
        let mut progress = BuildProgress::default();
        let mut image_id = None;
        let mut failure = None;
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    failure = Some(error);
                    break;
                }
                Err(error) => {
                    print_lines(progress.finish());
                    return Err(build_error(&self.host, error));
                }
            };
            let BuildInfo {
                stream: text,
                aux,
                error_detail,
                ..
            } = info;
            if let Some(text) = text {
                for line in text.lines().filter(|line| !line.trim().is_empty()) {
                    output::passthrough(line.trim_end());
                }
            }
            match aux {
                Some(BuildInfoAux::BuildKit(status)) => {
                    print_lines(progress.observe(&solve_status(status)));
                }
                Some(BuildInfoAux::Default(image)) => image_id = image.id.or(image_id),
                None => {}
            }
            if let Some(message) = error_detail.and_then(|detail| detail.message) {
                failure = Some(message);
                break;
            }
        }
        print_lines(progress.finish());
        drop(session);
        if let Some(message) = failure {
            return Err(DockerError::BuildFailed { message });
        }
        match image_id {
            Some(id) => Ok(id),
            None => self.image_id(&request.tag).await,
        }
    }

    /// Why the engine broke off a build before answering. It refuses some options before it
    /// reads the context, then hangs up; while the context is still being sent the write can
    /// fail before its answer is read, and the answer is lost. The same request with an empty
    /// context gets the same refusal without that race, and builds nothing: without a
    /// Dockerfile no step runs. When the engine takes the options, the upload's own error
    /// stands.
    async fn refusal_reason(
        &self,
        options: BuildImageOptions,
        credentials: Option<HashMap<String, DockerCredentials>>,
        upload_error: bollard::errors::Error,
    ) -> DockerError {
        // An empty tar archive: two zero blocks.
        let empty_context = Bytes::from(vec![0; 1024]);
        let mut probe = self.client.build_image(
            options,
            credentials,
            Some(bollard::body_full(empty_context)),
        );
        if let Some(Err(bollard::errors::Error::DockerResponseServerError { message, .. })) =
            probe.next().await
        {
            if !message.to_lowercase().contains("dockerfile") {
                return DockerError::BuildFailed { message };
            }
        }
        DockerError::BuildFailed {
            message: format!(
                "the engine hung up while the build context was being sent ({upload_error})"
            ),
        }
    }

    /// The ID (`sha256:` of the image config) of a local image.
    pub async fn image_id(&self, image: &str) -> Result<String, DockerError> {
        match self.client.inspect_image(image).await {
            Ok(inspect) => inspect.id.ok_or_else(|| DockerError::ImageMissing {
                image: image.to_string(),
            }),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(DockerError::ImageMissing {
                image: image.to_string(),
            }),
            Err(e) => Err(api_error("inspect image", &self.host, e)),
        }
    }

    /// The image's `RepoDigests` (`name@sha256:…`): the registry digests it was pushed or
    /// pulled as. Empty for an image that never left this daemon.
    pub async fn repo_digests(&self, image: &str) -> Result<Vec<String>, DockerError> {
        match self.client.inspect_image(image).await {
            Ok(inspect) => Ok(inspect.repo_digests.unwrap_or_default()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(DockerError::ImageMissing {
                image: image.to_string(),
            }),
            Err(e) => Err(api_error("inspect image", &self.host, e)),
        }
    }

    pub async fn tag(&self, image: &str, repository: &str, tag: &str) -> Result<(), DockerError> {
        self.client
            .tag_image(
                image,
                Some(TagImageOptions {
                    repo: Some(repository.to_string()),
                    tag: Some(tag.to_string()),
                }),
            )
            .await
            .map_err(|e| api_error("tag image", &self.host, e))
    }

    /// Pushes one tag; returns the manifest digest the registry stored.
    pub async fn push(
        &self,
        repository: &str,
        tag: &str,
        registry: &RegistryCredentials,
    ) -> Result<String, DockerError> {
        let reference = format!("{repository}:{tag}");
        let mut stream = self.streaming.push_image(
            repository,
            Some(PushImageOptions {
                tag: Some(tag.to_string()),
                platform: None,
            }),
            Some(credentials(registry)),
        );
        let mut progress = PushProgress::default();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| push_error(&reference, registry, &self.host, e))?;
            if let Some(status) = &info.status {
                if let Some(line) = progress.observe(status) {
                    output::step(format!("{reference}: {line}"));
                }
            }
        }
        progress
            .digest()
            .map(str::to_string)
            .ok_or_else(|| DockerError::PushFailed {
                reference,
                message: "the daemon finished without reporting the pushed digest".into(),
            })
    }
}

fn credentials(registry: &RegistryCredentials) -> DockerCredentials {
    DockerCredentials {
        username: Some(registry.username.clone()),
        password: Some(registry.password.expose().to_string()),
        serveraddress: Some(registry.registry.clone()),
        ..Default::default()
    }
}

/// Makes the `/build` request a BuildKit one (`version=2`); see `build_with_buildkit`.
fn select_buildkit(mut request: bollard::BollardRequest) -> bollard::BollardRequest {
    let uri = request.uri();
    if !uri.path().ends_with("/build") {
        return request;
    }
    let Some(query) = uri.query() else {
        return request;
    };
    let query: Vec<&str> = query
        .split('&')
        .map(|pair| {
            if pair == "version=1" {
                "version=2"
            } else {
                pair
            }
        })
        .collect();
    let rewritten = format!("{}?{}", uri.path(), query.join("&"));
    let mut parts = uri.clone().into_parts();
    if let Ok(path_and_query) = rewritten.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = hyper::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Adds one `extrahosts` query parameter per entry to a `/build` request: the daemon reads the
/// parameter as a list (the Docker CLI repeats it), which bollard's single string cannot carry.
fn with_extra_hosts(
    mut request: bollard::BollardRequest,
    hosts: &[String],
) -> bollard::BollardRequest {
    let uri = request.uri();
    if hosts.is_empty() || !uri.path().ends_with("/build") {
        return request;
    }
    let mut query = uri.query().unwrap_or_default().to_string();
    for host in hosts {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("extrahosts=");
        for byte in host.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                query.push(byte as char);
            } else {
                query.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    let rewritten = format!("{}?{query}", uri.path());
    let mut parts = uri.clone().into_parts();
    if let Ok(path_and_query) = rewritten.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = hyper::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// BuildKit's status message in the domain's terms.
fn solve_status(
    status: bollard::moby::buildkit::v1::StatusResponse,
) -> build_progress::SolveStatus {
    let seconds = |time: Option<bollard_buildkit_proto::google::protobuf::Timestamp>| {
        time.map(|time| time.seconds as f64 + f64::from(time.nanos) / 1e9)
    };
    build_progress::SolveStatus {
        vertexes: status
            .vertexes
            .into_iter()
            .map(|vertex| build_progress::Vertex {
                digest: vertex.digest,
                name: vertex.name,
                started: seconds(vertex.started),
                completed: seconds(vertex.completed),
                cached: vertex.cached,
                error: vertex.error,
            })
            .collect(),
        logs: status
            .logs
            .into_iter()
            .map(|log| build_progress::VertexLog {
                vertex: log.vertex,
                data: log.msg,
            })
            .collect(),
    }
}

fn print_lines(lines: Vec<String>) {
    for line in lines {
        output::passthrough(&line);
    }
}

fn flush_pending(pending: &mut String) {
    let rest = pending.trim_end();
    if !rest.is_empty() {
        output::passthrough(rest);
    }
    pending.clear();
}

fn is_connection_error(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    match error {
        E::SocketNotFoundError(_)
        | E::HyperResponseError { .. }
        | E::IOError { .. }
        | E::RequestTimeoutError => true,
        // A refused or reset TCP connection to a remote engine (DOCKER_HOST=tcp://…).
        E::HyperLegacyError { err } => err.is_connect(),
        _ => false,
    }
}

/// The connection failed under a request still being sent, rather than the engine answering.
fn is_broken_upload(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        error,
        E::HyperLegacyError { .. } | E::HyperResponseError { .. } | E::IOError { .. }
    )
}

fn build_error(host: &str, error: bollard::errors::Error) -> DockerError {
    match error {
        bollard::errors::Error::DockerStreamError { error } => {
            DockerError::BuildFailed { message: error }
        }
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            DockerError::BuildFailed { message }
        }
        other if is_connection_error(&other) => DockerError::Unreachable {
            host: host.to_string(),
            message: other.to_string(),
        },
        other => DockerError::BuildFailed {
            message: other.to_string(),
        },
    }
}

fn push_error(
    reference: &str,
    registry: &RegistryCredentials,
    host: &str,
    error: bollard::errors::Error,
) -> DockerError {
    let message = match error {
        bollard::errors::Error::DockerStreamError { error } => error,
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        other if is_connection_error(&other) => {
            return DockerError::Unreachable {
                host: host.to_string(),
                message: other.to_string(),
            }
        }
        other => other.to_string(),
    };
    let lower = message.to_lowercase();
    if lower.contains("unauthorized")
        || lower.contains("authentication required")
        || lower.contains("no basic auth credentials")
    {
        DockerError::Unauthorized {
            registry: registry.registry.clone(),
            message,
        }
    } else {
        DockerError::PushFailed {
            reference: reference.to_string(),
            message,
        }
    }
}

fn api_error(call: &'static str, host: &str, error: bollard::errors::Error) -> DockerError {
    if is_connection_error(&error) {
        DockerError::Unreachable {
            host: host.to_string(),
            message: error.to_string(),
        }
    } else {
        DockerError::Api {
            call,
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::path::Path;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const IMAGE_ID: &str =
        "sha256:8e031288b93e86d620af3b7bd91a46f72b188d7464b4a85f328209f7e16f7928";

    #[test]
    fn a_daemon_without_a_bridge_network_gets_a_hint_naming_the_network_flag() {
        // What Engine 20.10's BuildKit answers for a RUN step on `dockerd --bridge=none`.
        let failed = DockerError::BuildFailed {
            message: "executor failed running [/bin/sh -c echo hi]: network bridge not found"
                .to_string(),
        };
        let error = Error::from(failed);
        assert_eq!(error.kind, ErrorKind::Failed);
        let hint = error.hint.unwrap();
        assert!(hint.contains("no bridge network"), "{hint}");
        assert!(hint.contains("--network none"), "{hint}");
        assert!(hint.contains("--network host"), "{hint}");

        let other = Error::from(DockerError::BuildFailed {
            message: "The command '/bin/sh -c false' returned a non-zero code: 1".to_string(),
        });
        assert_eq!(
            other.hint.as_deref(),
            Some("the build output above shows the step that failed")
        );
    }

    /// A daemon on a Unix socket that reads each whole request, then answers after `delay`.
    fn slow_daemon(socket: &Path, delay: Duration) {
        let listener = tokio::net::UnixListener::bind(socket).unwrap();
        tokio::spawn(async move {
            while let Ok((mut connection, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = vec![0; 64 * 1024];
                    while !request_complete(&request) {
                        match connection.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => request.extend_from_slice(&buffer[..read]),
                        }
                    }
                    tokio::time::sleep(delay).await;
                    let body = if request.starts_with(b"POST") {
                        format!("{{\"stream\":\"Step 1/1 : FROM scratch\\n\"}}\n{{\"aux\":{{\"ID\":\"{IMAGE_ID}\"}}}}\n")
                    } else {
                        format!("{{\"Id\":\"{IMAGE_ID}\"}}")
                    };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = connection.write_all(answer.as_bytes()).await;
                });
            }
        });
    }

    /// A GET ends with its head; a POST's chunked body with the empty chunk.
    fn request_complete(request: &[u8]) -> bool {
        let text = String::from_utf8_lossy(request);
        text.contains("\r\n\r\n") && (text.starts_with("GET") || text.ends_with("\r\n0\r\n\r\n"))
    }

    /// A daemon that refuses every build as soon as it has the request's head, without reading
    /// the context, then hangs up: what dockerd does with an option it rejects up front.
    fn refusing_daemon(socket: &Path, status: &'static str, message: &'static str) {
        let listener = tokio::net::UnixListener::bind(socket).unwrap();
        tokio::spawn(async move {
            while let Ok((mut connection, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match connection.read(&mut byte).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => head.push(byte[0]),
                    }
                }
                let body = format!("{{\"message\":\"{message}\"}}\n");
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = connection.write_all(answer.as_bytes()).await;
                let _ = connection.shutdown().await;
                drop(connection);
            }
        });
    }

    fn docker_at(socket: &Path) -> Docker {
        let address = format!("unix://{}", socket.display());
        let client =
            bollard::Docker::connect_with_unix(&address, 120, bollard::API_DEFAULT_VERSION)
                .unwrap();
        Docker::with_timeouts(client, address)
    }

    #[test]
    fn builds_and_pushes_wait_far_longer_than_short_calls() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let docker = docker_at(&socket);
        assert_eq!(docker.client.timeout(), Duration::from_secs(120));
        assert!(docker.streaming.timeout() >= Duration::from_secs(24 * 60 * 60));
    }

    /// On tokio's paused clock: the daemon answers after three virtual minutes, past bollard's
    /// two-minute default, in milliseconds of real time.
    #[tokio::test(start_paused = true)]
    async fn a_build_answered_after_two_minutes_succeeds_and_a_short_call_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        slow_daemon(&socket, Duration::from_secs(180));
        let docker = docker_at(&socket);

        let context =
            futures_util::stream::iter([Ok::<_, io::Error>(Bytes::from_static(&[0; 1024]))]);
        let request = BuildRequest {
            dockerfile: "Dockerfile".into(),
            tag: "tutorial-site:slow".into(),
            ..Default::default()
        };
        let built = docker.build(&request, context, None).await.unwrap();
        assert_eq!(built, IMAGE_ID);

        let error = docker.image_id("tutorial-site:slow").await.unwrap_err();
        assert!(
            matches!(&error, DockerError::Unreachable { message, .. } if message.contains("Timeout")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_build_refused_before_the_context_is_read_fails_with_the_daemons_message() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let message = "invalid platform: linux/bogus is not supported";
        refusing_daemon(&socket, "400 Bad Request", message);
        let docker = docker_at(&socket);
        let context_dir = dir.path().join("context");
        std::fs::create_dir_all(&context_dir).unwrap();
        std::fs::write(context_dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(context_dir.join("big.bin"), vec![7u8; 16 * 1024 * 1024]).unwrap();
        let plan = crate::build_context::plan(&context_dir, &context_dir, "Dockerfile").unwrap();
        let (context, walker) = crate::build_context::stream(plan);
        let request = BuildRequest {
            dockerfile: "Dockerfile".into(),
            tag: "tutorial-site:refused".into(),
            platform: Some("linux/bogus".into()),
            ..Default::default()
        };
        let error = docker.build(&request, context, None).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("the Docker build failed: {message}")
        );
        let stats = walker.await.unwrap().expect("the walk itself did not fail");
        assert!(stats.abandoned, "{stats:?}");
    }

    /// A daemon whose first build connection is cut without an answer (the answer lost to the
    /// race with the upload); every later build is answered with `probe_answer`.
    fn hanging_up_daemon(socket: &Path, probe_answer: &'static str) {
        let listener = tokio::net::UnixListener::bind(socket).unwrap();
        tokio::spawn(async move {
            let mut builds = 0;
            while let Ok((mut connection, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match connection.read(&mut byte).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => head.push(byte[0]),
                    }
                }
                builds += 1;
                if builds > 1 {
                    let body = format!("{{\"message\":\"{probe_answer}\"}}");
                    let answer = format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = connection.write_all(answer.as_bytes()).await;
                }
                drop(connection);
            }
        });
    }

    async fn build_through_a_broken_upload(probe_answer: &'static str) -> DockerError {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        hanging_up_daemon(&socket, probe_answer);
        let docker = docker_at(&socket);
        let context = futures_util::stream::iter(
            (0..1024).map(|_| Ok::<_, io::Error>(Bytes::from(vec![0; 64 * 1024]))),
        );
        let request = BuildRequest {
            dockerfile: "Dockerfile".into(),
            tag: "tutorial-site:refused".into(),
            ..Default::default()
        };
        docker.build(&request, context, None).await.unwrap_err()
    }

    #[tokio::test]
    async fn a_refusal_lost_to_the_upload_is_asked_again_with_an_empty_context() {
        let error = build_through_a_broken_upload("Unsupported isolation: \\\"bogus\\\"").await;
        assert_eq!(
            error.to_string(),
            "the Docker build failed: Unsupported isolation: \"bogus\""
        );
        // The engine took the options and only missed the Dockerfile: the upload's error stands.
        let error =
            build_through_a_broken_upload("Cannot locate specified Dockerfile: Dockerfile").await;
        assert!(
            error
                .to_string()
                .starts_with("the Docker build failed: the engine hung up while the build context was being sent ("),
            "{error}"
        );
    }
}
