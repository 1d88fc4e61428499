//! AWS configuration: the standard credential and region chain, CircleCI OIDC role assumption,
//! and the classification of SDK errors into what a user can act on.
use std::error::Error as StdError;
use std::fmt;
use std::path::PathBuf;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;

use crate::domain::aws_profiles::profile_names;
use crate::error::{Error, ErrorKind};
use crate::output;
use crate::secret::Secret;

/// How to reach AWS, resolved from flags and environment by the CLI layer.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Assume this role with the CI's OIDC token.
    pub role_arn: Option<String>,
    pub role_session_name: String,
    pub oidc_token: Option<Secret>,
    /// Keys read from variables the user named (the aws orbs' `aws-access-key-id`), used
    /// instead of the standard chain.
    pub static_credentials: Option<StaticCredentials>,
    /// `AWS_PROFILE`, which `--profile` overrides.
    pub environment_profile: Option<String>,
    /// Whether `AWS_ACCESS_KEY_ID` is set: the standard chain takes those keys before a profile.
    pub environment_keys: bool,
    /// The shared config and credentials files, whose profiles a named profile must be among.
    pub profile_files: Vec<PathBuf>,
}

/// An access key pair given outright rather than found by the SDK's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// Loaded AWS configuration with proven credentials and region: what every AWS adapter is built
/// from. Commands hold it without seeing the SDK's types.
#[derive(Debug, Clone)]
pub struct AwsConfig(SdkConfig);

impl AwsConfig {
    pub(super) fn sdk(&self) -> &SdkConfig {
        &self.0
    }
}

/// Loads the SDK configuration and proves that credentials and a region are there, so every
/// later failure is about the call, not about setup.
pub async fn load(settings: &AwsSettings) -> Result<AwsConfig, Error> {
    load_sdk(settings).await.map(AwsConfig)
}

async fn load_sdk(settings: &AwsSettings) -> Result<SdkConfig, Error> {
    check_profile(settings)?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(keys) = &settings.static_credentials {
        output::register_secret(&keys.secret_access_key);
        loader = loader.credentials_provider(Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose().to_string(),
            None,
            None,
            "named variables",
        ));
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    // The standard chain takes AWS_ACCESS_KEY_ID before any profile; an explicit --profile
    // is what the user asked for, as with the AWS CLI.
    let chain_keys = settings.environment_keys
        && settings.static_credentials.is_none()
        && settings.role_arn.is_none();
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
        if chain_keys {
            loader = loader.credentials_provider(
                ProfileFileCredentialsProvider::builder()
                    .profile_name(profile)
                    .build(),
            );
            output::step(format!(
                "credentials: profile {profile} (--profile), not the AWS_ACCESS_KEY_ID keys of the environment"
            ));
        }
    } else if let Some(profile) = settings.environment_profile.as_ref().filter(|_| chain_keys) {
        output::step(format!(
            "credentials: the AWS_ACCESS_KEY_ID keys of the environment, which the AWS chain takes before AWS_PROFILE={profile} (pass --profile {profile} to use the profile's)"
        ));
    }
    let config = loader.load().await;
    let Some(region) = config.region() else {
        return Err(Error::environment("no AWS region is set")
            .with_hint("set AWS_REGION (or AWS_DEFAULT_REGION), a region in your AWS profile, or pass --region"));
    };
    tracing::debug!(region = %region, "AWS region");

    if let Some(role_arn) = &settings.role_arn {
        let token = settings.oidc_token.as_ref().ok_or_else(|| {
            Error::environment(format!("--role-arn {role_arn} needs an OIDC token, and none was found"))
                .with_hint("in CircleCI, run the job in a context so CIRCLE_OIDC_TOKEN_V2 (or CIRCLE_OIDC_TOKEN) is set")
        })?;
        return assume_role_with_web_identity(config, role_arn, &settings.role_session_name, token)
            .await;
    }

    let provider = config.credentials_provider().ok_or_else(no_credentials)?;
    match provider.provide_credentials().await {
        Ok(credentials) => {
            register_credentials(&credentials);
            Ok(config)
        }
        Err(error) => Err(no_credentials().with_detail(causes(&error))),
    }
}

/// A profile named by `--profile` or `AWS_PROFILE` must be defined in the shared files: the
/// SDK would otherwise pass over it (to the environment's keys, or to no credentials).
fn check_profile(settings: &AwsSettings) -> Result<(), Error> {
    let (profile, source) = match (&settings.profile, &settings.environment_profile) {
        (Some(profile), _) => (profile, "--profile"),
        (None, Some(profile)) => (profile, "AWS_PROFILE"),
        (None, None) => return Ok(()),
    };
    let read = |path: &PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    let texts: Vec<String> = settings.profile_files.iter().map(read).collect();
    let names = profile_names(
        texts.first().map_or("", String::as_str),
        texts.get(1).map_or("", String::as_str),
    );
    // `default` is what the chain uses anyway: naming it is never a mistake.
    if profile == "default" || names.iter().any(|name| name == profile) {
        return Ok(());
    }
    let files: Vec<String> = settings
        .profile_files
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    Err(Error::usage(format!(
        "{source} {profile}: no such profile in {}",
        files.join(" or ")
    ))
    .with_hint(if names.is_empty() {
        format!("those files define no profile: fix {source}, or set AWS_CONFIG_FILE to the config that defines it")
    } else {
        format!("the profiles there: {}; fix {source}", names.join(", "))
    }))
}

fn no_credentials() -> Error {
    Error::environment("no AWS credentials were found").with_hint(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use a profile (AWS_PROFILE, --profile), \
         web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), or --role-arn with CircleCI OIDC",
    )
}

fn register_credentials(credentials: &Credentials) {
    output::register_secret(&Secret::new(credentials.secret_access_key()));
    if let Some(token) = credentials.session_token() {
        output::register_secret(&Secret::new(token));
    }
}

async fn assume_role_with_web_identity(
    config: SdkConfig,
    role_arn: &str,
    session_name: &str,
    token: &Secret,
) -> Result<SdkConfig, Error> {
    output::register_secret(token);
    // AssumeRoleWithWebIdentity is unsigned: the token is the credential.
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .interceptor(super::recorder::Recorder)
            .build(),
    );
    let answer = sts
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .web_identity_token(token.expose())
        .send()
        .await
        .map_err(|e| Error::from(ApiError::from_sdk("sts:AssumeRoleWithWebIdentity", e)))
        .map_err(|e| e.with_detail(format!("role {role_arn}")))?;
    let issued = answer.credentials().ok_or_else(|| {
        Error::environment(format!("STS answered no credentials for role {role_arn}"))
    })?;
    let credentials = Credentials::new(
        issued.access_key_id(),
        issued.secret_access_key(),
        Some(issued.session_token().to_string()),
        std::time::SystemTime::try_from(*issued.expiration()).ok(),
        "CircleCI OIDC",
    );
    register_credentials(&credentials);
    output::step(format!("assumed role {role_arn} as session {session_name}"));
    Ok(config
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// The error and its causes in words, each once: `dispatch failure: io error: … Connection
/// refused (os error 111)`, never the SDK's `Debug` dump.
pub fn causes(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = current {
        let text = cause.to_string();
        let text = text.trim();
        // Some layers repeat their source's text inside their own.
        if !text.is_empty() && !parts.iter().any(|part| part.contains(text)) {
            parts.retain(|part| !text.contains(part.as_str()));
            parts.push(text.to_string());
        }
        current = cause.source();
    }
    parts.join(": ")
}

/// What kind of no AWS said, in terms of what the user can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    AccessDenied,
    NotFound,
    Throttled,
    InvalidCredentials,
    InvalidInput,
    Unreachable,
    Other,
}

/// A failed AWS call: the IAM action, the service's code and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub action: &'static str,
    pub kind: ApiErrorKind,
    pub code: Option<String>,
    pub message: String,
}

impl ApiError {
    /// Classifies any SDK error of any service.
    pub fn from_sdk<E, R>(action: &'static str, error: aws_sdk_sts::error::SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        use aws_sdk_sts::error::SdkError;
        let (kind, code, message) = match &error {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().map(str::to_string);
                let message = inner.message().unwrap_or("").to_string();
                (classify_code(code.as_deref().unwrap_or("")), code, message)
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                (ApiErrorKind::Unreachable, None, causes(&error))
            }
            _ => (ApiErrorKind::Other, None, causes(&error)),
        };
        ApiError {
            action,
            kind,
            code,
            message,
        }
    }

    /// Whether this is the given service error code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the next poll may well succeed: throttling, no answer, or a server-side failure
    /// the SDK's own retries did not get past (ECS's `ServerException`, the common
    /// `InternalFailure` and `ServiceUnavailable`, CodeDeploy's and others' variants, and a 5xx
    /// without a code). https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
    pub fn is_transient(&self) -> bool {
        match self.kind {
            ApiErrorKind::Throttled | ApiErrorKind::Unreachable => true,
            ApiErrorKind::Other => match self.code.as_deref() {
                None => true,
                Some(code) => matches!(
                    code,
                    "ServerException"
                        | "InternalFailure"
                        | "InternalError"
                        | "InternalServerError"
                        | "InternalServerException"
                        | "InternalFailureException"
                        | "ServiceUnavailable"
                        | "ServiceUnavailableException"
                        | "ServiceException"
                ),
            },
            _ => false,
        }
    }

    /// Whether the endpoint does not have the operation (a region or partition without it
    /// yet, an emulator): the API is not there, nothing to retry or to fix in IAM.
    pub fn is_unknown_operation(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("UnknownOperationException" | "InvalidAction" | "UnsupportedOperation")
        )
    }
}

fn classify_code(code: &str) -> ApiErrorKind {
    match code {
        "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "AuthorizationError" => ApiErrorKind::AccessDenied,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => ApiErrorKind::Throttled,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "InvalidIdentityToken" => ApiErrorKind::InvalidCredentials,
        code if code.ends_with("NotFoundException") || code == "ClusterNotFoundException" => {
            ApiErrorKind::NotFound
        }
        "InvalidParameterException"
        | "ValidationException"
        | "InvalidParameterValueException"
        | "ClientException" => ApiErrorKind::InvalidInput,
        _ => ApiErrorKind::Other,
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.action, self.message),
            None => write!(f, "{} failed: {}", self.action, self.message),
        }
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        let action = error.action;
        match error.kind {
            ApiErrorKind::AccessDenied => Error::environment(format!("access denied: {error}"))
                .with_hint(format!(
                    "allow the IAM action {action} to the identity deployer runs as"
                )),
            ApiErrorKind::InvalidCredentials => {
                Error::environment(format!("AWS rejected the credentials: {error}")).with_hint(
                    "check the access keys, profile or role; session credentials may have expired",
                )
            }
            ApiErrorKind::Throttled => Error::environment(format!(
                "AWS kept throttling the request: {error}"
            ))
            .with_hint("retry later, or lower the rate of API calls in this account and region"),
            ApiErrorKind::Unreachable => {
                Error::environment(format!("AWS could not be reached: {error}"))
                    .with_hint("check the network, the region, and AWS_ENDPOINT_URL if you set one")
            }
            ApiErrorKind::InvalidInput => Error::new(
                ErrorKind::Usage,
                format!("AWS rejected the request: {error}"),
            ),
            ApiErrorKind::NotFound | ApiErrorKind::Other => Error::environment(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(kind: ApiErrorKind, code: Option<&str>) -> ApiError {
        ApiError {
            action: "ecs:DescribeServiceDeployments",
            kind,
            code: code.map(str::to_string),
            message: String::new(),
        }
    }

    /// Issue 19: ECS's documented server errors (ServerException, and the common errors
    /// InternalFailure and ServiceUnavailable, HTTP 500 and 503) are worth another poll; access
    /// denied and an unknown operation are not.
    #[test]
    fn server_errors_are_transient_and_refusals_are_not() {
        for code in [
            "ServerException",
            "InternalFailure",
            "ServiceUnavailable",
            "InternalServerException",
        ] {
            let kind = classify_code(code);
            assert!(api_error(kind, Some(code)).is_transient(), "{code}");
        }
        assert!(api_error(ApiErrorKind::Other, None).is_transient());
        assert!(api_error(ApiErrorKind::Throttled, Some("ThrottlingException")).is_transient());
        let denied = api_error(
            classify_code("AccessDeniedException"),
            Some("AccessDeniedException"),
        );
        assert!(!denied.is_transient() && !denied.is_unknown_operation());
        let unknown = api_error(
            classify_code("UnknownOperationException"),
            Some("UnknownOperationException"),
        );
        assert!(!unknown.is_transient() && unknown.is_unknown_operation());
        assert!(!api_error(ApiErrorKind::Other, Some("SomethingElse")).is_transient());
    }

    #[test]
    fn codes_sort_into_what_users_can_do() {
        assert_eq!(
            classify_code("AccessDeniedException"),
            ApiErrorKind::AccessDenied
        );
        assert_eq!(
            classify_code("RepositoryNotFoundException"),
            ApiErrorKind::NotFound
        );
        assert_eq!(
            classify_code("ThrottlingException"),
            ApiErrorKind::Throttled
        );
        assert_eq!(
            classify_code("ExpiredTokenException"),
            ApiErrorKind::InvalidCredentials
        );
        assert_eq!(classify_code("ServerException"), ApiErrorKind::Other);
    }

    /// An error chain like the SDK's dispatch failure: each layer names its source's text.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1
                .as_deref()
                .map(|layer| layer as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn causes_are_stated_once_in_words() {
        let chain = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer(
                    "client error (Connect)",
                    Some(Box::new(Layer(
                        "tcp connect error: Connection refused (os error 111)",
                        Some(Box::new(Layer("Connection refused (os error 111)", None))),
                    ))),
                ))),
            ))),
        );
        assert_eq!(
            causes(&chain),
            "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
    }

    #[test]
    fn access_denied_names_the_action() {
        let error = Error::from(ApiError {
            action: "ecr:CreateRepository",
            kind: ApiErrorKind::AccessDenied,
            code: Some("AccessDeniedException".into()),
            message: "User is not authorized".into(),
        });
        assert_eq!(error.kind, ErrorKind::Environment);
        assert!(error.hint.unwrap().contains("ecr:CreateRepository"));
    }
}
