//! ECR authorization tokens: base64 of `user:password`, and the registry host in `proxyEndpoint`.
use base64::Engine;

use crate::secret::Secret;

/// Registry credentials decoded from a `GetAuthorizationToken` answer.
#[derive(Debug, Clone)]
pub struct RegistryCredentials {
    pub username: String,
    pub password: Secret,
    /// `host[:port]` the credentials are for.
    pub registry: String,
}

/// Why a token could not be decoded; never carries the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    NotBase64,
    NotUtf8,
    NoSeparator,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenError::NotBase64 => "the authorization token is not valid base64",
            TokenError::NotUtf8 => "the decoded authorization token is not UTF-8",
            TokenError::NoSeparator => {
                "the decoded authorization token is not of the form user:password"
            }
        })
    }
}

/// Decodes `base64(user:password)`. The password may itself contain `:`.
pub fn decode_token(token: &str) -> Result<(String, Secret), TokenError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| TokenError::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| TokenError::NotUtf8)?;
    let (user, password) = text.split_once(':').ok_or(TokenError::NoSeparator)?;
    Ok((user.to_string(), Secret::new(password)))
}

/// The registry host in a `proxyEndpoint` such as `https://123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
pub fn registry_from_proxy_endpoint(endpoint: &str) -> String {
    let without_scheme = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .unwrap_or(endpoint);
    without_scheme.trim_end_matches('/').to_string()
}

/// The private registry host of an account in a region, following the partition's DNS suffix.
pub fn private_registry_host(account_id: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{account_id}.dkr.ecr.{region}.{suffix}")
}

/// The account and region of a private ECR registry host (`ACCOUNT.dkr.ecr[-fips].REGION.
/// amazonaws.com[.cn]`), from a host or a server URL as the Docker CLI names it; `None` for
/// any other registry.
pub fn parse_private_registry(server: &str) -> Option<(String, String)> {
    let host = registry_from_proxy_endpoint(server);
    let host = host.split('/').next().unwrap_or_default();
    let mut labels = host.split('.');
    let account = labels.next()?;
    let (dkr, ecr, region) = (labels.next()?, labels.next()?, labels.next()?);
    let suffix: Vec<&str> = labels.collect();
    let valid = account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && dkr == "dkr"
        && (ecr == "ecr" || ecr == "ecr-fips")
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && (suffix == ["amazonaws", "com"] || suffix == ["amazonaws", "com", "cn"]);
    valid.then(|| (account.to_string(), region.to_string()))
}

/// The host part of a repository URI (`host/repo`), as ECR returns in `repositoryUri`.
pub fn registry_from_repository_uri(uri: &str) -> &str {
    uri.split_once('/').map_or(uri, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_registry_hosts_name_their_account_and_region() {
        let expect = |account: &str, region: &str| Some((account.to_string(), region.to_string()));
        assert_eq!(
            parse_private_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            expect("123456789012", "eu-west-1")
        );
        assert_eq!(
            parse_private_registry("https://210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/v2/"),
            expect("210987654321", "cn-north-1")
        );
        assert_eq!(
            parse_private_registry("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com"),
            expect("123456789012", "us-east-1")
        );
        for other in [
            "127.0.0.1:15000",
            "public.ecr.aws",
            "123.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.io",
            "ghcr.io",
        ] {
            assert_eq!(parse_private_registry(other), None, "{other}");
        }
    }

    #[test]
    fn decodes_moto_and_ecr_shaped_tokens() {
        // What moto answers for account 123456789012.
        let (user, password) = decode_token("QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu").unwrap();
        assert_eq!(user, "AWS");
        assert_eq!(password.expose(), "123456789012-auth-token");
        let token =
            base64::engine::general_purpose::STANDARD.encode("AWS:eyJwYXlsb2FkIjoi:with:colons");
        let (_, password) = decode_token(&token).unwrap();
        assert_eq!(password.expose(), "eyJwYXlsb2FkIjoi:with:colons");
    }

    #[test]
    fn bad_tokens_are_named_without_echoing_them() {
        assert_eq!(decode_token("%%%").unwrap_err(), TokenError::NotBase64);
        let token = base64::engine::general_purpose::STANDARD.encode("nocolon");
        assert_eq!(decode_token(&token).unwrap_err(), TokenError::NoSeparator);
        assert!(!TokenError::NoSeparator.to_string().contains("nocolon"));
    }

    #[test]
    fn registry_hosts_from_endpoints_and_uris() {
        assert_eq!(
            registry_from_proxy_endpoint("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            registry_from_proxy_endpoint("http://127.0.0.1:5000/"),
            "127.0.0.1:5000"
        );
        assert_eq!(
            registry_from_repository_uri(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry"
            ),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            registry_from_repository_uri("public.ecr.aws/alias/app"),
            "public.ecr.aws"
        );
    }

    #[test]
    fn partition_decides_the_dns_suffix() {
        assert_eq!(
            private_registry_host("123456789012", "eu-west-1"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            private_registry_host("123456789012", "cn-north-1"),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
    }
}
