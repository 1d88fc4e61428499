//! Docker image references (`[registry[:port]/]repo[:tag][@digest]`) parsed with Docker's grammar,
//! where a naive split on `:` breaks on registries with ports.
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

static PATH_COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").unwrap());
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\w][\w.-]{0,127}$").unwrap());
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$").unwrap());
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$",
    )
    .unwrap()
});

/// Why a name, tag or reference is not valid, in words that name the offending part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidReference(pub String);

impl fmt::Display for InvalidReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a repository path (`team/app`) against Docker's grammar: lowercase components of
/// letters and digits joined by `.`, `_`, `__` or dashes, separated by `/`.
pub fn validate_repository(name: &str) -> Result<(), InvalidReference> {
    if name.is_empty() {
        return Err(InvalidReference("the repository name is empty".into()));
    }
    if let Some(repository) = repository_in_uri(name) {
        return Err(InvalidReference(format!(
            "{name:?} is an image's URI, not a repository name: give the name alone, {repository} (the registry comes from the account and region)"
        )));
    }
    if let Some((repository, tag)) = name
        .rsplit_once(':')
        .filter(|(repository, _)| !repository.contains(':'))
    {
        return Err(InvalidReference(format!(
            "{name:?} has a tag: give the repository name alone, {repository}, and the tag {tag} on its own"
        )));
    }
    if name.len() > 255 {
        return Err(InvalidReference(format!(
            "repository name {name:?} is {} characters long; at most 255 are allowed",
            name.len()
        )));
    }
    for component in name.split('/') {
        if !PATH_COMPONENT.is_match(component) {
            return Err(InvalidReference(format!(
                "repository name {name:?} is invalid: component {component:?} must be lowercase letters and digits, \
                 separated by '.', '_', '__' or '-', and may not start or end with a separator"
            )));
        }
    }
    Ok(())
}

/// The repository an image URI names, when `name` is one: a registry host (an ECR or ECR
/// Public host, `localhost`, or a host with a port), perhaps a scheme, a tag or a digest. Other
/// dotted first components are left alone: ECR takes `my.team/app` as a repository name.
fn repository_in_uri(name: &str) -> Option<String> {
    let name = name
        .strip_prefix("https://")
        .or_else(|| name.strip_prefix("http://"))
        .unwrap_or(name);
    let (host, path) = name.split_once('/')?;
    let registry = host.contains(".dkr.ecr.")
        || host == "public.ecr.aws"
        || host == "localhost"
        || host.starts_with("localhost:")
        || host.contains(':');
    if !registry || path.is_empty() {
        return None;
    }
    let path = path.split('@').next().unwrap_or(path);
    let path = match path.rsplit_once(':') {
        Some((repository, _tag)) => repository,
        None => path,
    };
    // ECR Public's first component is the registry alias.
    let path = match host {
        "public.ecr.aws" => path.split_once('/').map_or(path, |(_, rest)| rest),
        _ => path,
    };
    Some(path.to_string())
}

/// Checks a tag against Docker's grammar: a word character, then up to 127 of `[A-Za-z0-9_.-]`.
pub fn validate_tag(tag: &str) -> Result<(), InvalidReference> {
    if TAG.is_match(tag) {
        Ok(())
    } else {
        Err(InvalidReference(format!(
            "tag {tag:?} is invalid: a tag is 1 to 128 characters of letters, digits, '_', '.' and '-', \
             and may not start with '.' or '-'"
        )))
    }
}

/// Checks a registry host with an optional port, as `--registry` takes it.
/// The host of `host[:port]` (brackets of an IPv6 address removed).
pub fn host_of(authority: &str) -> &str {
    let host = authority
        .rsplit_once(':')
        .filter(|(host, port)| {
            port.chars().all(|c| c.is_ascii_digit()) && (!host.contains(':') || host.ends_with(']'))
        })
        .map_or(authority, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Whether a host is this machine: `localhost` or a loopback address (127.0.0.0/8, ::1).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

pub fn validate_registry_host(host: &str) -> Result<(), InvalidReference> {
    if DOMAIN.is_match(host) {
        Ok(())
    } else {
        Err(InvalidReference(format!(
            "registry {host:?} is invalid: expected HOST or HOST:PORT, without a scheme or path"
        )))
    }
}

/// An image reference split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// `host[:port]`, when the first path component names one.
    pub registry: Option<String>,
    /// The repository path without the registry.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses a reference with Docker's rules: the first component is a registry only if it
    /// contains `.` or `:`, or is `localhost`.
    pub fn parse(reference: &str) -> Result<Self, InvalidReference> {
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                if !DIGEST.is_match(digest) {
                    return Err(InvalidReference(format!(
                        "digest {digest:?} in {reference:?} is invalid: expected sha256: and 64 hex digits"
                    )));
                }
                (rest, Some(digest.to_string()))
            }
            None => (reference, None),
        };
        let last_slash = name_and_tag.rfind('/');
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => (
                &name_and_tag[..colon],
                Some(name_and_tag[colon + 1..].to_string()),
            ),
            _ => (name_and_tag, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                validate_registry_host(first)?;
                (Some(first.to_string()), rest.to_string())
            }
            _ => (None, name.to_string()),
        };
        validate_repository(&repository)
            .map_err(|e| InvalidReference(format!("in image {reference:?}: {e}")))?;
        if let Some(tag) = &tag {
            validate_tag(tag)
                .map_err(|e| InvalidReference(format!("in image {reference:?}: {e}")))?;
        }
        Ok(ImageReference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository` (or the repository alone), without tag or digest.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.repository),
            None => self.repository.clone(),
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_loopback_whatever_the_port_and_brackets() {
        assert_eq!(host_of("127.0.0.1:15000"), "127.0.0.1");
        assert_eq!(host_of("[::1]:5000"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("public.ecr.aws"), "public.ecr.aws");
        for local in ["127.0.0.1", "127.8.9.1", "localhost", "::1"] {
            assert!(is_loopback(local), "{local}");
        }
        for other in ["10.0.0.8", "registry.example.com", "0.0.0.0"] {
            assert!(!is_loopback(other), "{other}");
        }
    }

    const DIGEST: &str = "sha256:6599e6fd98811a65d19283d82b35af3ef10d5db57b058ec5338cc2653a15dc43";

    #[test]
    fn repository_names_follow_dockers_grammar() {
        for good in [
            "tutorial-site-registry",
            "team/app",
            "a",
            "a__b",
            "a.b_c--d",
            "x/y/z",
        ] {
            assert_eq!(validate_repository(good), Ok(()), "{good}");
        }
        for bad in [
            "", "Upper", "-lead", "trail-", "a//b", "/a", "a/", "a___b", "sp ace", "a:b",
        ] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
        let error = validate_repository("team/Bad").unwrap_err();
        assert!(error.0.contains("component \"Bad\""), "{error}");
    }

    #[test]
    fn an_image_uri_or_a_tag_given_as_the_repository_names_the_repository() {
        for (uri, repository) in [
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry",
                "tutorial-site-registry",
            ),
            (
                "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/site:v2",
                "team/site",
            ),
            (
                "127.0.0.1:15000/tutorial-site-registry@sha256:abc",
                "tutorial-site-registry",
            ),
            ("public.ecr.aws/deployer/tutorial-site", "tutorial-site"),
        ] {
            let error = validate_repository(uri).unwrap_err().to_string();
            assert!(
                error.contains(&format!("give the name alone, {repository} ")),
                "{uri}: {error}"
            );
        }
        let error = validate_repository("tutorial-site-registry:v2")
            .unwrap_err()
            .to_string();
        assert!(
            error
                .contains("give the repository name alone, tutorial-site-registry, and the tag v2"),
            "{error}"
        );
        // A dotted namespace is a repository name ECR takes.
        assert!(validate_repository("my.team/app").is_ok());
    }

    #[test]
    fn tags_follow_dockers_grammar() {
        for good in ["latest", "v1.2.3", "_x", "A-b_c.d", &"a".repeat(128)] {
            assert_eq!(validate_tag(good), Ok(()), "{good}");
        }
        for bad in ["", ".x", "-x", "a:b", "a/b", "a b", &"a".repeat(129)] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_hosts() {
        for good in [
            "127.0.0.1:5000",
            "localhost",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "public.ecr.aws",
            "[::1]:5000",
        ] {
            assert_eq!(validate_registry_host(good), Ok(()), "{good}");
        }
        for bad in ["https://x.io", "x.io/path", "", "host:port"] {
            assert!(validate_registry_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_a_registry_with_a_port_and_a_tag() {
        let reference = ImageReference::parse("127.0.0.1:5000/app:v1").unwrap();
        assert_eq!(reference.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(reference.repository, "app");
        assert_eq!(reference.tag.as_deref(), Some("v1"));
        assert_eq!(reference.to_string(), "127.0.0.1:5000/app:v1");
    }

    #[test]
    fn parses_a_registry_with_a_port_and_no_tag() {
        let reference = ImageReference::parse("127.0.0.1:5000/team/app").unwrap();
        assert_eq!(reference.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(reference.repository, "team/app");
        assert_eq!(reference.tag, None);
    }

    #[test]
    fn parses_digests_with_and_without_tags() {
        let reference = ImageReference::parse(&format!("app@{DIGEST}")).unwrap();
        assert_eq!(reference.registry, None);
        assert_eq!(reference.digest.as_deref(), Some(DIGEST));
        let reference = ImageReference::parse(&format!(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(reference.tag.as_deref(), Some("latest"));
        assert_eq!(
            reference.name(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry"
        );
    }

    #[test]
    fn first_component_is_a_registry_only_when_it_looks_like_one() {
        let reference = ImageReference::parse("library/busybox:1").unwrap();
        assert_eq!(reference.registry, None);
        assert_eq!(reference.repository, "library/busybox");
        let reference = ImageReference::parse("localhost/app").unwrap();
        assert_eq!(reference.registry.as_deref(), Some("localhost"));
    }

    #[test]
    fn rejects_bad_parts_by_name() {
        let error = ImageReference::parse("app@sha256:nothex").unwrap_err();
        assert!(error.0.contains("digest"), "{error}");
        let error = ImageReference::parse("App:v1").unwrap_err();
        assert!(error.0.contains("\"App\""), "{error}");
        let error = ImageReference::parse("app:-v1").unwrap_err();
        assert!(error.0.contains("tag \"-v1\""), "{error}");
    }
}
