//! The registry host the aws-ecr orb's `account-url` names: an ECR host (its account, region
//! and domain) or another registry pushed to as it is.

/// A registry host as the aws-ecr orb's `account-url` gives it (`ACCOUNT.dkr.ecr.REGION.DOMAIN`,
/// maybe with `https://` before it and a `/` after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryHost {
    Ecr {
        account: String,
        region: String,
        domain: String,
    },
    Other(String),
}

pub fn registry_host(url: &str) -> RegistryHost {
    let host = url.trim();
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host)
        .trim_end_matches('/');
    let parts: Vec<&str> = host.splitn(5, '.').collect();
    if let [account, "dkr", "ecr", region, domain] = parts.as_slice() {
        let is_account = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
        let is_region = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if is_account && is_region && domain.starts_with("amazonaws.com") {
            return RegistryHost::Ecr {
                account: account.to_string(),
                region: region.to_string(),
                domain: domain.to_string(),
            };
        }
    }
    RegistryHost::Other(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_urls_name_ecr_or_other_registries() {
        assert_eq!(
            registry_host("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/"),
            RegistryHost::Ecr {
                account: "123456789012".into(),
                region: "eu-west-1".into(),
                domain: "amazonaws.com".into()
            }
        );
        assert_eq!(
            registry_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            RegistryHost::Ecr {
                account: "123456789012".into(),
                region: "cn-north-1".into(),
                domain: "amazonaws.com.cn".into()
            }
        );
        assert_eq!(
            registry_host("127.0.0.1:5000"),
            RegistryHost::Other("127.0.0.1:5000".into())
        );
        assert_eq!(
            registry_host("12345.dkr.ecr.eu-west-1.amazonaws.com"),
            RegistryHost::Other("12345.dkr.ecr.eu-west-1.amazonaws.com".into())
        );
    }
}
