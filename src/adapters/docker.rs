//! The Docker engine: builds from a streamed context, tags, and pushes with registry
//! credentials sent per request (never written to disk). Streams are read to their end and an
//! error anywhere in them fails the call with the daemon's own message.
use std::collections::HashMap;
use std::io;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{BuildImageOptions, PushImageOptions, TagImageOptions};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

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
            DockerError::BuildFailed { .. } => {
                Error::failed(text).with_hint("the build output above shows the step that failed")
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

/// Build parameters, in the daemon's terms.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub dockerfile: String,
    pub tag: String,
    pub build_args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub pull: bool,
}

/// A connection to one daemon, with the API version agreed with it.
pub struct Docker {
    client: bollard::Docker,
    host: String,
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
        Ok(Docker { client, host })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Builds, printing the daemon's output line by line; returns the image ID.
    pub async fn build(
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
            ..Default::default()
        };
        // Credentials for base images and cache sources in the same registry.
        let credentials = registry
            .map(|registry| HashMap::from([(registry.registry.clone(), credentials(registry))]));
        let mut stream = self.client.build_image(
            options,
            credentials,
            Some(bollard::body_try_stream(context)),
        );
        let mut image_id = None;
        let mut pending = String::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| build_error(&self.host, e))?;
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
            if let Some(id) = info.aux.and_then(|aux| aux.id) {
                image_id = Some(id);
            }
        }
        flush_pending(&mut pending);
        match image_id {
            Some(id) => Ok(id),
            // Older engines only announce the ID in the output; ask for the tag instead.
            None => self.image_id(&request.tag).await,
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
        let mut stream = self.client.push_image(
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

fn flush_pending(pending: &mut String) {
    let rest = pending.trim_end();
    if !rest.is_empty() {
        output::passthrough(rest);
    }
    pending.clear();
}

fn is_connection_error(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        error,
        E::SocketNotFoundError(_)
            | E::HyperResponseError { .. }
            | E::IOError { .. }
            | E::RequestTimeoutError
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
