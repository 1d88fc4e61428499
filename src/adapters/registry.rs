//! A registry's HTTP API (`/v2/…`), for what the Docker engine cannot push: the image index of a
//! multi-platform image. ECR takes its `AWS` user and token as basic authentication; registries
//! that answer with a bearer challenge (ECR Public, token-auth distribution) get a token first.
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::domain::ecr_token::RegistryCredentials;
use crate::domain::platform::{Descriptor, MANIFEST_LIST, OCI_INDEX};
use crate::domain::reference::{host_of, is_loopback};
use crate::error::Error;

/// What the registry is asked to send back for a manifest.
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the registry {registry} cannot be reached: {message}")]
    Unreachable { registry: String, message: String },
    #[error("the registry {registry} refused the credentials ({call}): {message}")]
    Unauthorized {
        registry: String,
        call: String,
        message: String,
    },
    #[error("the registry {registry} asks for a token from {realm} ({call}), where deployer does not send its credentials: {why}")]
    ForeignRealm {
        registry: String,
        call: String,
        realm: String,
        why: String,
    },
    #[error("the registry {registry} answered {call} with {status}: {message}")]
    Refused {
        registry: String,
        call: String,
        status: u16,
        message: String,
    },
}

impl From<RegistryError> for Error {
    fn from(error: RegistryError) -> Self {
        let text = error.to_string();
        match error {
            RegistryError::Unreachable { .. } => Error::environment(text)
                .with_hint("deployer reaches the registry itself for the image index: check that this machine reaches it, as the Docker engine does"),
            RegistryError::Unauthorized { .. } => Error::environment(text).with_hint(
                "the credentials came from ecr:GetAuthorizationToken; the role needs ecr:PutImage and ecr:BatchGetImage on the repository",
            ),
            RegistryError::Refused { .. } => Error::failed(text),
            RegistryError::ForeignRealm { .. } => Error::environment(text).with_hint(
                "the registry's credentials go only to the registry's own host or an ECR host of \
                 the same account, over HTTPS (plain HTTP on this machine only); check that \
                 --registry names the registry you mean",
            ),
        }
    }
}

/// A manifest as the registry holds it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub media_type: String,
    pub body: Bytes,
    pub digest: String,
}

/// One registry, with the credentials deployer logged in with.
pub struct Registry {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    credentials: RegistryCredentials,
    base: String,
}

impl Registry {
    pub fn new(credentials: &RegistryCredentials) -> Result<Self, Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|error| {
                Error::environment(format!(
                    "the system's certificate authorities cannot be loaded: {error}"
                ))
            })?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Registry {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base_url(&credentials.registry),
            credentials: credentials.clone(),
        })
    }

    /// The manifest `repository:reference` (a tag or digest), or `None` when there is none.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let call = format!("GET {repository}:{reference}");
        let path = format!("/v2/{repository}/manifests/{reference}");
        let (status, headers, body) = self.send(Method::GET, &path, None, &call).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.check(status, &body, &call)?;
        let media_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or(value).trim().to_string())
            .unwrap_or_default();
        let digest = headers
            .get("docker-content-digest")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| sha256_digest(&body));
        Ok(Some(Manifest {
            media_type,
            body,
            digest,
        }))
    }

    /// The descriptor of a pushed image, as an index lists it.
    pub async fn descriptor(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Descriptor, RegistryError> {
        let manifest =
            self.manifest(repository, digest)
                .await?
                .ok_or_else(|| RegistryError::Refused {
                    registry: self.credentials.registry.clone(),
                    call: format!("GET {repository}@{digest}"),
                    status: 404,
                    message: "the image just pushed is not there".into(),
                })?;
        Ok(Descriptor {
            media_type: manifest.media_type,
            size: manifest.body.len() as u64,
            digest: manifest.digest,
        })
    }

    /// Stores `index` under `tag`; returns the digest the registry gave it.
    pub async fn put_index(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        index: &str,
    ) -> Result<String, RegistryError> {
        debug_assert!(media_type == MANIFEST_LIST || media_type == OCI_INDEX);
        let call = format!("PUT {repository}:{tag}");
        let path = format!("/v2/{repository}/manifests/{tag}");
        let body = Bytes::from(index.to_string());
        let (status, headers, answer) = self
            .send(Method::PUT, &path, Some((media_type, body.clone())), &call)
            .await?;
        self.check(status, &answer, &call)?;
        Ok(headers
            .get("docker-content-digest")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| sha256_digest(&body)))
    }

    fn check(&self, status: StatusCode, body: &[u8], call: &str) -> Result<(), RegistryError> {
        if status.is_success() {
            return Ok(());
        }
        let message = registry_message(body);
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized {
                registry: self.credentials.registry.clone(),
                call: call.to_string(),
                message,
            });
        }
        Err(RegistryError::Refused {
            registry: self.credentials.registry.clone(),
            call: call.to_string(),
            status: status.as_u16(),
            message,
        })
    }

    /// Sends with basic authentication; a bearer challenge is answered once with a token.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Bytes)>,
        call: &str,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), RegistryError> {
        let basic = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!(
                    "{}:{}",
                    self.credentials.username,
                    self.credentials.password.expose()
                )
            )
        );
        let url = format!("{}{path}", self.base);
        let answer = self
            .request(method.clone(), &url, &basic, body.clone(), call)
            .await?;
        let challenge = answer
            .1
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_challenge);
        match (answer.0, challenge) {
            (StatusCode::UNAUTHORIZED, Some((realm, query))) => {
                if let Err(why) = may_send_credentials(&self.credentials.registry, &realm) {
                    return Err(RegistryError::ForeignRealm {
                        registry: self.credentials.registry.clone(),
                        call: call.to_string(),
                        realm,
                        why,
                    });
                }
                let token_url = if query.is_empty() {
                    realm
                } else {
                    format!("{realm}?{query}")
                };
                let (status, _, token_answer) = self
                    .request(Method::GET, &token_url, &basic, None, call)
                    .await?;
                self.check(status, &token_answer, call)?;
                let token = serde_json::from_slice::<serde_json::Value>(&token_answer)
                    .ok()
                    .and_then(|value| {
                        value
                            .get("token")
                            .or_else(|| value.get("access_token"))
                            .and_then(|token| token.as_str().map(str::to_string))
                    })
                    .unwrap_or_default();
                crate::output::register_secret(&crate::secret::Secret::new(token.clone()));
                self.request(method, &url, &format!("Bearer {token}"), body, call)
                    .await
            }
            _ => Ok(answer),
        }
    }

    async fn request(
        &self,
        method: Method,
        url: &str,
        authorization: &str,
        body: Option<(&str, Bytes)>,
        call: &str,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), RegistryError> {
        let unreachable = |message: String| RegistryError::Unreachable {
            registry: self.credentials.registry.clone(),
            message: format!("{call}: {message}"),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(ACCEPT, MANIFEST_TYPES);
        if let Ok(mut value) = HeaderValue::from_str(authorization) {
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let content = match body {
            Some((media_type, bytes)) => {
                request = request.header(CONTENT_TYPE, media_type);
                bytes
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(content))
            .map_err(|error| unreachable(error.to_string()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                let mut message = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    message = format!("{message}: {cause}");
                    source = cause.source();
                }
                unreachable(message)
            })?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| unreachable(error.to_string()))?
                .to_bytes();
            Ok((status, headers, body))
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer in {}s", CALL_TIMEOUT.as_secs())))?
    }
}

/// The account of an ECR registry host (`123456789012.dkr.ecr.REGION.amazonaws.com[.cn]`).
fn ecr_account(host: &str) -> Option<&str> {
    let (account, rest) = host.split_once('.')?;
    let ecr = rest.starts_with("dkr.ecr.")
        && (rest.ends_with(".amazonaws.com") || rest.ends_with(".amazonaws.com.cn"));
    (ecr && account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())).then_some(account)
}

/// Whether the registry's credentials may go to the token `realm` its challenge names: only to
/// the registry's own host or an ECR host of the same account, and over plain HTTP only on this
/// machine. A challenge can name any URL; the credentials are the account's push rights.
fn may_send_credentials(registry: &str, realm: &str) -> Result<(), String> {
    let (scheme, rest) = realm
        .split_once("://")
        .ok_or_else(|| "the realm is not an http(s) URL".to_string())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let realm_host = host_of(authority).to_ascii_lowercase();
    let registry_host = host_of(registry).to_ascii_lowercase();
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(&realm_host) => {}
        "http" => return Err("it is plain HTTP, which anyone on the way can read".to_string()),
        other => return Err(format!("{other}:// is not HTTPS")),
    }
    let same_account = matches!(
        (ecr_account(&realm_host), ecr_account(&registry_host)),
        (Some(a), Some(b)) if a == b
    );
    if realm_host == registry_host || same_account {
        Ok(())
    } else {
        Err(format!("{realm_host} is not the registry's host"))
    }
}

/// `http://` for a registry on this machine (as the Docker engine treats 127.0.0.0/8 as an
/// insecure registry), `https://` for every other.
fn base_url(registry: &str) -> String {
    if is_loopback(host_of(registry)) {
        format!("http://{registry}")
    } else {
        format!("https://{registry}")
    }
}

/// The realm and query of `Bearer realm="…",service="…",scope="…"`.
fn bearer_challenge(header: &str) -> Option<(String, String)> {
    let rest = header.strip_prefix("Bearer ")?;
    let mut realm = None;
    let mut query = Vec::new();
    for pair in split_challenge(rest) {
        let (key, value) = pair.split_once('=')?;
        let value = value.trim().trim_matches('"');
        match key.trim() {
            "realm" => realm = Some(value.to_string()),
            key => query.push(format!("{key}={}", value.replace(' ', "%20"))),
        }
    }
    Some((realm?, query.join("&")))
}

/// Splits on the commas outside quotes (a scope holds `repository:name:pull,push`).
fn split_challenge(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (at, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn registry_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            let errors = value.get("errors")?.as_array()?;
            Some(
                errors
                    .iter()
                    .filter_map(|error| {
                        let code = error.get("code").and_then(|c| c.as_str()).unwrap_or("");
                        let message = error.get("message").and_then(|m| m.as_str())?;
                        Some(format!("{code}: {message}"))
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string())
}

/// `sha256:…` of the bytes: a manifest's digest.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(bytes);
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_registries_over_http_others_over_https() {
        assert_eq!(base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost:5000"), "http://localhost:5000");
        assert_eq!(
            base_url("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
    }

    /// Issue 20: a challenge may name any realm; the credentials follow it only to the
    /// registry's own host or an ECR host of the same account, never over plain HTTP off this
    /// machine.
    #[test]
    fn credentials_go_only_to_the_registrys_own_realm() {
        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        assert!(may_send_credentials("public.ecr.aws", "https://public.ecr.aws/token/").is_ok());
        assert!(may_send_credentials(ecr, &format!("https://{ecr}/token")).is_ok());
        assert!(may_send_credentials(
            ecr,
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/token"
        )
        .is_ok());
        assert!(may_send_credentials("127.0.0.1:15000", "http://127.0.0.1:15000/token").is_ok());
        assert!(may_send_credentials("localhost:5000", "http://localhost:5001/auth").is_ok());
        for (registry, realm) in [
            (ecr, "https://attacker.example/token"),
            (
                ecr,
                "https://210987654321.dkr.ecr.eu-west-1.amazonaws.com/token",
            ),
            (ecr, &format!("http://{ecr}/token") as &str),
            (
                ecr,
                "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com.attacker.example/t",
            ),
            (ecr, "https://user@attacker.example/token"),
            ("127.0.0.1:15000", "http://10.0.0.8/token"),
            ("public.ecr.aws", "ftp://public.ecr.aws/token"),
        ] {
            assert!(
                may_send_credentials(registry, realm).is_err(),
                "{registry} -> {realm}"
            );
        }
    }

    #[test]
    fn a_bearer_challenge_as_ecr_public_sends_it() {
        let (realm, query) = bearer_challenge(
            r#"Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws""#,
        )
        .unwrap();
        assert_eq!(realm, "https://public.ecr.aws/token/");
        assert_eq!(query, "service=public.ecr.aws&scope=aws");
        let (_, query) = bearer_challenge(
            r#"Bearer realm="https://auth.example/token",scope="repository:site:pull,push""#,
        )
        .unwrap();
        assert_eq!(query, "scope=repository:site:pull,push");
        assert_eq!(bearer_challenge(r#"Basic realm="registry""#), None);
    }

    #[test]
    fn the_registrys_error_and_the_digest_of_a_manifest() {
        let body = br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:1"}]}"#;
        assert_eq!(
            registry_message(body),
            "MANIFEST_BLOB_UNKNOWN: blob unknown to registry"
        );
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
