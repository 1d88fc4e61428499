//! Every environment variable deployer reads, declared once. clap's `env =` attributes and the
//! settings code name these constants; nothing else calls `std::env::var` (a test checks it),
//! and the README's table lists each one (a test checks that too).
use std::ffi::OsString;

/// One variable and what it means to deployer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub meaning: &'static str,
}

macro_rules! variables {
    ($($constant:ident => $meaning:expr;)*) => {
        $(pub const $constant: &str = stringify!($constant);)*
        /// Every variable deployer itself reads, in the order the README lists them.
        pub const ALL: &[Variable] = &[$(Variable { name: $constant, meaning: $meaning },)*];
    };
}

variables! {
    DEPLOYER_QUIET => "--quiet";
    DEPLOYER_OUTPUT => "--output (text or json)";
    DEPLOYER_ROLE_ARN => "--role-arn: the IAM role to assume with CircleCI's OIDC token";
    DEPLOYER_ROLE_SESSION_NAME => "--role-session-name";
    CIRCLE_OIDC_TOKEN_V2 => "CircleCI's OIDC token, used with --role-arn (never printed)";
    CIRCLE_OIDC_TOKEN => "CircleCI's older OIDC token, used when CIRCLE_OIDC_TOKEN_V2 is unset (never printed)";
    CIRCLE_BUILD_NUM => "names the role session deployer-$CIRCLE_BUILD_NUM";
    AWS_PROFILE => "the AWS profile when --profile is not given; one that no file defines is refused";
    AWS_ACCESS_KEY_ID => "read only to say which credentials deployer uses when a profile is named too (the SDK reads the keys)";
    AWS_CONFIG_FILE => "the AWS config file whose profiles --profile and AWS_PROFILE are checked against, and where deployer orb aws-cli-config sets the region (default ~/.aws/config)";
    AWS_SHARED_CREDENTIALS_FILE => "the AWS credentials file, checked likewise, and where deployer orb aws-cli-config writes the keys (default ~/.aws/credentials)";
    AWS_ECR_REGISTRY_ID => "--registry-id";
    DEPLOYER_REGISTRY => "--registry";
    DEPLOYER_REPO => "--repo";
    DEPLOYER_TAG => "--tag";
    DEPLOYER_CLUSTER => "--cluster";
    DEPLOYER_SERVICE => "--service";
    DEPLOYER_SERVICE_DEPLOYMENT_ARN => "deployer continue --deployment: the paused service deployment (as --wait-until paused exports it)";
    DEPLOYER_HOOK_ID => "deployer continue --hook-id: the lifecycle hook it waits at (as --wait-until paused exports it)";
    DEPLOYER_FAMILY => "--family";
    DEPLOYER_BUILD_NETWORK => "push --network (the network of RUN steps: default, none or host)";
    DOCKER_HOST => "the Docker daemon (as the Docker CLI reads it, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH)";
    DOCKER_TLS_VERIFY => "with DOCKER_HOST=tcp://…: TLS to the daemon (its BuildKit session included), verifying the daemon with ca.pem and presenting cert.pem and key.pem";
    DOCKER_CERT_PATH => "the directory of ca.pem, cert.pem and key.pem for DOCKER_TLS_VERIFY (default ~/.docker)";
    DOCKER_BUILDKIT => "0 selects the classic builder when --builder is auto, as with the Docker CLI; 1 asks for BuildKit";
    DEPLOYER_BINFMT_MISC => "for diagnosis and tests: the directory of binfmt_misc handlers push --platform checks (default /proc/sys/fs/binfmt_misc)";
    SSH_AUTH_SOCK => "the SSH agent that push --ssh default forwards to the build";
    DOCKER_CONFIG => "the directory of the Docker CLI's config.json that ecr-login writes";
    HOME => "~/.docker/config.json when DOCKER_CONFIG is unset; ~/.aws/config and ~/.aws/credentials for deployer orb aws-cli-config";
    PATH => "where ecr-login --credential-helper looks for docker-credential-deployer";
    NO_COLOR => "no colour on a terminal";
    GITHUB_ENV => "GitHub Actions' environment file: --export-env writes its KEY=value syntax there, `export KEY='value'` lines elsewhere";
    RUST_LOG => "overrides -v's log filter (the bodies of AWS calls stay hidden whatever it says)";
    LOG_SENSITIVE_BODIES => "the AWS SDK's switch for logging response bodies: ignored with a warning, and removed before any SDK could read it";
    LOG_SIGNABLE_BODY => "the AWS SDK's switch for logging the request bytes it signs: ignored with a warning, and removed before any SDK could read it";
}

/// The variable's value; `None` when it is unset or not UTF-8.
pub fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variable's value as the OS holds it (paths).
pub fn var_os(name: &'static str) -> Option<OsString> {
    std::env::var_os(name)
}

/// A variable whose name the user chose: a bare `--build-arg KEY`, or an orb parameter's
/// `PARAM_*` and the variables orb parameters name.
pub fn user_named(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only this module reads the environment, so `ALL` is the whole list.
    #[test]
    fn nothing_else_reads_the_environment() {
        let mut offenders = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut pending = vec![root];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                if path.ends_with("env.rs") && path.parent().unwrap().ends_with("src") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for needle in ["std::env::var", "env::var_os(\"", "env::var(\""] {
                    if text.contains(needle) {
                        offenders.push(format!("{} ({needle})", path.display()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "read through crate::env: {offenders:?}"
        );
    }

    #[test]
    fn the_readme_lists_every_variable() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let missing: Vec<&str> = ALL
            .iter()
            .map(|variable| variable.name)
            .filter(|name| !readme.contains(&format!("`{name}`")))
            .collect();
        assert!(missing.is_empty(), "README lacks {missing:?}");
    }
}
