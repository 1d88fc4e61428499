//! TLS to a remote daemon (`DOCKER_HOST=tcp://…` with `DOCKER_TLS_VERIFY` and
//! `DOCKER_CERT_PATH`, as CircleCI's `setup_remote_docker` sets them), for the BuildKit session's
//! own connection. Certificates are found and trusted as bollard finds and trusts them for every
//! other call: `ca.pem` (with the system's roots), `cert.pem` and `key.pem` in the directory.
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Where the client certificate, its key and the daemon's CA are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonTls {
    pub cert_dir: PathBuf,
}

impl DaemonTls {
    /// TLS as bollard decides it for `host`: a `tcp://` host with `DOCKER_TLS_VERIFY` set, and
    /// the certificates in `DOCKER_CERT_PATH` (else `~/.docker`).
    pub fn from_env(host: &str) -> Option<DaemonTls> {
        let is_tcp = host.starts_with("tcp://") || host.starts_with("https://");
        if !is_tcp || crate::env::var_os(crate::env::DOCKER_TLS_VERIFY).is_none() {
            return None;
        }
        let cert_dir = crate::env::var_os(crate::env::DOCKER_CERT_PATH)
            .map(PathBuf::from)
            .or_else(|| {
                crate::env::var_os(crate::env::HOME).map(|home| PathBuf::from(home).join(".docker"))
            })
            .unwrap_or_else(|| PathBuf::from(".docker"));
        Some(DaemonTls { cert_dir })
    }

    /// The client configuration: the daemon must present a certificate the CA (or a system
    /// root) signed for its host name or address; deployer presents its own.
    pub fn client_config(&self) -> io::Result<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for root in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(root);
        }
        let ca = self.cert_dir.join("ca.pem");
        for certificate in certificates(&ca)? {
            roots
                .add(certificate)
                .map_err(|error| bad_file(&ca, &error.to_string()))?;
        }
        let cert = self.cert_dir.join("cert.pem");
        let key_path = self.cert_dir.join("key.pem");
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|error| bad_file(&key_path, &error.to_string()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_client_auth_cert(certificates(&cert)?, key)
            .map_err(|error| bad_file(&cert, &error.to_string()))
    }
}

/// Opens TLS over `stream` to `address` (`HOST:PORT`), verifying the daemon's name.
pub async fn connect(
    tls: &DaemonTls,
    address: &str,
    stream: tokio::net::TcpStream,
) -> io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let host = server_host(address);
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| io::Error::other(format!("{host} is not a host name or address")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls.client_config()?));
    connector.connect(name, stream).await
}

/// The host of `HOST:PORT`, `[V6]:PORT` or a bare host, as the certificate must name it.
fn server_host(address: &str) -> &str {
    let address = address.trim_end_matches('/');
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => address,
    }
}

fn certificates(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let found = CertificateDer::pem_file_iter(path)
        .map_err(|error| bad_file(path, &error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| bad_file(path, &error.to_string()))?;
    if found.is_empty() {
        return Err(bad_file(path, "no PEM certificate in it"));
    }
    Ok(found)
}

fn bad_file(path: &Path, why: &str) -> io::Error {
    io::Error::other(format!("{} (DOCKER_CERT_PATH): {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_the_daemons_certificate_must_carry() {
        assert_eq!(server_host("127.0.0.1:2376"), "127.0.0.1");
        assert_eq!(
            server_host("remote-docker.circleci:2376/"),
            "remote-docker.circleci"
        );
        assert_eq!(server_host("[::1]:2376"), "::1");
        assert_eq!(server_host("docker"), "docker");
    }

    #[test]
    fn missing_certificates_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let tls = DaemonTls {
            cert_dir: dir.path().to_path_buf(),
        };
        let error = tls.client_config().unwrap_err().to_string();
        assert!(error.contains("ca.pem (DOCKER_CERT_PATH)"), "{error}");
        std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").unwrap();
        let error = tls.client_config().unwrap_err().to_string();
        assert!(
            error.contains("ca.pem (DOCKER_CERT_PATH): no PEM certificate"),
            "{error}"
        );
    }
}
