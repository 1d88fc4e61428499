//! The image and repository verbs' flags (`push`, `ecr-login`, `tag-image`, `repo`) resolved
//! into their settings: registry, repository settings and policies, the build's inputs (build
//! arguments, secrets, the SSH agent, the builder), each checked before anything runs.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::adapters::aws::AwsSettings;
use crate::adapters::docker::{SecretSource, MAX_SECRET_BYTES};
use crate::adapters::ecr::NewRepository;
use crate::build_context;
use crate::cli::args::*;
use crate::commands::{ecr_login, push, repo, tag_image};
use crate::domain::build_inputs::{
    parse_add_host, parse_build_args, parse_cache_from, parse_cache_to, parse_key_values,
    parse_resource_tags, parse_secret, parse_tags, SecretOrigin,
};
use crate::domain::old_orb::OldOrb;
use crate::domain::platform::parse_platforms;
use crate::domain::reference::{validate_registry_host, validate_repository, ImageReference};
use crate::env;
use crate::error::{Error, Result};
use crate::secret::Secret;

pub fn registry_override(args: &RegistryArgs) -> Result<Option<String>> {
    let registry = args.registry.clone().filter(|r| !r.is_empty());
    if let Some(registry) = &registry {
        validate_registry_host(registry).map_err(|e| Error::usage(format!("--registry: {e}")))?;
    }
    if let Some(id) = &args.registry_id {
        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::usage(format!(
                "--registry-id {id:?} is not an AWS account ID (12 digits)"
            )));
        }
    }
    Ok(registry)
}

pub fn push_settings(args: PushArgs, aws: AwsSettings) -> Result<push::PushSettings> {
    validate_repository(&args.repo).map_err(|e| Error::usage(format!("--repo: {e}")))?;
    let tags = parse_tags(&args.tags).map_err(|e| Error::usage(format!("--tag: {e}")))?;
    let registry_override = registry_override(&args.registry)?;
    let public = public_registry(&args)?;
    let create_repository = if args.create_repo {
        Some(new_repository(&args.repo, &args.new_repository)?)
    } else {
        None
    };
    let repository_policy = args
        .repo_policy_path
        .as_deref()
        .map(|path| read_policy("--repo-policy-path", path))
        .transpose()?;
    let lifecycle_policy = args
        .lifecycle_policy_path
        .as_deref()
        .map(|path| read_policy("--lifecycle-policy-path", path))
        .transpose()?;
    let source = match (&args.image, args.no_build) {
        (Some(image), true) => push::ImageSource::Local(image.clone()),
        (None, true) => push::ImageSource::LocalTagged,
        _ => push::ImageSource::Build(Box::new(build_settings(&args)?)),
    };
    if let push::ImageSource::Build(build) = &source {
        if build.platforms.len() > 1 && !build.local_tags.is_empty() {
            return Err(Error::usage(format!(
                "--local-tag with {} platforms: the Docker engine's image store holds one platform per tag, \
                 and a multi-platform image exists only as the index pushed to the registry",
                build.platforms.len()
            ))
            .with_hint("pull the pushed tag where a local copy is needed, or build one platform"));
        }
        if build.platforms.len() > 1 && args.no_push {
            return Err(Error::usage(format!(
                "--no-push with {} platforms: the Docker engine's image store holds one platform per tag, \
                 and a multi-platform image exists only as the index pushed to the registry",
                build.platforms.len()
            ))
            .with_hint("build one platform per run with --no-push, or push"));
        }
    }
    Ok(push::PushSettings {
        aws,
        repository: args.repo,
        tags,
        registry_id: args.registry.registry_id,
        registry_override,
        create_repository,
        repository_policy,
        lifecycle_policy,
        source,
        skip_when_tags_exist: args.skip_when_tags_exist,
        push: !args.no_push,
        public,
        old_orb: args
            .old_orb
            .as_deref()
            .filter(|text| !text.trim().is_empty())
            .map(|text| OldOrb::parse(text).map_err(|e| Error::usage(format!("--old-orb: {e}"))))
            .transpose()?,
    })
}

/// ECR Public has no tag mutability, scanning, encryption settings or lifecycle policies:
/// asking for them is an error, not a silent no-op.
pub fn public_registry(args: &PushArgs) -> Result<Option<push::PublicRegistry>> {
    if !args.public_registry {
        return Ok(None);
    }
    refuse_for_public(&args.new_repository, args.lifecycle_policy_path.is_some())?;
    if let Some(alias) = &args.public_registry_alias {
        validate_repository(alias)
            .map_err(|e| Error::usage(format!("--public-registry-alias: {e}")))?;
    }
    Ok(Some(push::PublicRegistry {
        alias: args.public_registry_alias.clone(),
    }))
}

/// ECR Public has no tag mutability, scanning, encryption settings or lifecycle policies:
/// asking for them is an error, not a silent no-op.
fn refuse_for_public(args: &NewRepositoryArgs, lifecycle_policy: bool) -> Result<()> {
    let unsupported = [
        (lifecycle_policy, "--lifecycle-policy-path"),
        (
            args.repo_tag_mutability != TagMutability::Mutable,
            "--repo-tag-mutability",
        ),
        (
            !args.repo_tag_mutability_exclusions.is_empty(),
            "--repo-tag-mutability-exclusion",
        ),
        (
            args.repo_encryption_type.is_some(),
            "--repo-encryption-type",
        ),
        (args.repo_kms_key.is_some(), "--repo-kms-key"),
    ];
    match unsupported.iter().find(|(given, _)| *given) {
        Some((_, flag)) => Err(Error::usage(format!(
            "{flag} does not apply to ECR Public (--public-registry)"
        ))),
        None => Ok(()),
    }
}

pub fn new_repository(name: &str, args: &NewRepositoryArgs) -> Result<NewRepository> {
    let mutability = args.repo_tag_mutability;
    let with_exclusion = matches!(
        mutability,
        TagMutability::ImmutableWithExclusion | TagMutability::MutableWithExclusion
    );
    let exclusions: Vec<String> = args
        .repo_tag_mutability_exclusions
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|filter| !filter.is_empty())
        .map(str::to_string)
        .collect();
    if with_exclusion && exclusions.is_empty() {
        return Err(Error::usage(format!(
            "--repo-tag-mutability {} needs at least one --repo-tag-mutability-exclusion filter",
            mutability.as_str()
        )));
    }
    if !with_exclusion && !exclusions.is_empty() {
        return Err(Error::usage(
            "--repo-tag-mutability-exclusion only applies with --repo-tag-mutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION",
        ));
    }
    for filter in &exclusions {
        let valid = filter.len() <= 128
            && filter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-*".contains(c));
        if !valid {
            return Err(Error::usage(format!(
                "--repo-tag-mutability-exclusion {filter:?} is invalid: use letters, digits, '.', '_', '-' and '*' (up to 128)"
            )));
        }
    }
    let encryption_type = args
        .repo_encryption_type
        .map(|kind| kind.as_str().to_string());
    if args.repo_kms_key.is_some()
        && !matches!(
            args.repo_encryption_type,
            Some(EncryptionType::Kms | EncryptionType::KmsDsse)
        )
    {
        return Err(Error::usage(
            "--repo-kms-key needs --repo-encryption-type KMS or KMS_DSSE",
        ));
    }
    let tags = match &args.repo_tags {
        Some(value) => parse_resource_tags(value).map_err(Error::usage)?,
        None => Vec::new(),
    };
    Ok(NewRepository {
        name: name.to_string(),
        scan_on_push: args.repo_scan_on_push,
        tag_mutability: mutability.as_str().to_string(),
        exclusion_filters: exclusions,
        encryption_type,
        kms_key: args.repo_kms_key.clone(),
        tags,
    })
}

pub fn read_policy(flag: &str, path: &Path) -> Result<push::PolicyFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("{flag} {}: cannot read it: {e}", path.display())))?;
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| Error::usage(format!("{flag} {}: not valid JSON: {e}", path.display())))?;
    Ok(push::PolicyFile {
        path: path.to_path_buf(),
        text,
    })
}

pub fn build_settings(args: &PushArgs) -> Result<push::BuildSettings> {
    let build_args = parse_build_args(&args.build_args, env::user_named).map_err(Error::usage)?;
    let labels = parse_key_values("--label", &args.labels).map_err(Error::usage)?;
    let platforms = parse_platforms(&args.platforms).map_err(Error::usage)?;
    let context = build_context::plan(&args.build_path, &args.path, &args.dockerfile)?;
    let cache_from = args
        .cache_from
        .iter()
        .filter(|value| !value.is_empty())
        .map(|value| parse_cache_from(value))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::usage)?;
    for value in args.cache_to.iter().filter(|value| !value.is_empty()) {
        parse_cache_to(value).map_err(Error::usage)?;
    }
    let cache_inline = match (
        args.cache_inline,
        args.cache_to.iter().any(|v| !v.is_empty()),
    ) {
        (Some(false), true) => {
            return Err(Error::usage(
                "--cache-to type=inline and --cache-inline false contradict each other",
            ))
        }
        (Some(explicit), _) => push::CacheInline::Explicit(explicit),
        (None, true) => push::CacheInline::Explicit(true),
        (None, false) => push::CacheInline::Default(!cache_from.is_empty()),
    };
    Ok(push::BuildSettings {
        context,
        build_args,
        labels,
        target: args.target.clone().filter(|t| !t.is_empty()),
        platforms,
        cache_from,
        no_cache: args.no_cache,
        pull: args.pull,
        builder: builder_choice(args.builder)?,
        network: match args.network.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(mode @ ("default" | "none" | "host")) => Some(mode.to_string()),
            Some(other) => {
                return Err(Error::usage(format!(
                    "--network {other:?}: a build's RUN steps take default, none or host"
                )))
            }
        },
        add_hosts: args
            .add_hosts
            .iter()
            .filter(|value| !value.is_empty())
            .map(|value| parse_add_host(value))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::usage)?,
        cache_inline,
        secrets: secrets(&args.secrets)?,
        ssh_agent: ssh_agent(args.ssh.as_deref())?,
        local_tags: args
            .local_tags
            .iter()
            .map(|name| match ImageReference::parse(name) {
                Ok(reference) if reference.digest.is_none() => Ok(reference),
                Ok(_) => Err(Error::usage(format!(
                    "--local-tag {name:?}: a local name takes a tag, not a digest"
                ))),
                Err(e) => Err(Error::usage(format!("--local-tag {name:?}: {e}"))),
            })
            .collect::<Result<Vec<_>>>()?,
    })
}

/// `--builder`, with `DOCKER_BUILDKIT` deciding `auto` as the Docker CLI lets it.
fn builder_choice(arg: BuilderArg) -> Result<push::BuilderChoice> {
    Ok(match arg {
        BuilderArg::Classic => push::BuilderChoice::Classic("--builder classic"),
        BuilderArg::BuildKit => push::BuilderChoice::BuildKit("--builder buildkit"),
        BuilderArg::Auto => match env::var(env::DOCKER_BUILDKIT).as_deref().map(str::trim) {
            None | Some("") => push::BuilderChoice::Auto,
            Some("0" | "false" | "FALSE" | "False") => {
                push::BuilderChoice::Classic("DOCKER_BUILDKIT=0")
            }
            Some("1" | "true" | "TRUE" | "True") => {
                push::BuilderChoice::BuildKit("DOCKER_BUILDKIT=1")
            }
            Some(other) => {
                return Err(
                    Error::usage(format!("DOCKER_BUILDKIT={other:?} is neither 0 nor 1"))
                        .with_hint(
                            "unset it, or pick the builder with --builder auto|buildkit|classic",
                        ),
                )
            }
        },
    })
}

/// `--secret` values, checked now: a missing file or variable stops the run before anything is
/// built. Their values are registered so that no line deployer prints shows them.
fn secrets(values: &[String]) -> Result<BTreeMap<String, SecretSource>> {
    let mut secrets = BTreeMap::new();
    for value in values.iter().filter(|value| !value.is_empty()) {
        let (id, origin) = parse_secret(value).map_err(Error::usage)?;
        let source = match origin {
            SecretOrigin::Environment(name) => {
                let value = env::user_named(&name).ok_or_else(|| {
                    Error::usage(format!(
                        "--secret {id}: the environment variable {name} is not set"
                    ))
                })?;
                let value = Secret::new(value);
                crate::output::register_secret(&value);
                SecretSource::Value(value)
            }
            SecretOrigin::File(path) => {
                let path = PathBuf::from(path);
                let contents = std::fs::read(&path).map_err(|e| {
                    Error::usage(format!(
                        "--secret {id}: cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                if contents.len() as u64 > MAX_SECRET_BYTES {
                    return Err(Error::usage(format!(
                        "--secret {id}: {} is larger than BuildKit's limit of 500 KiB",
                        path.display()
                    )));
                }
                if let Ok(text) = String::from_utf8(contents) {
                    crate::output::register_secret(&Secret::new(text.trim_end()));
                }
                SecretSource::File(path)
            }
        };
        if secrets.insert(id.clone(), source).is_some() {
            return Err(Error::usage(format!("--secret {id} is given twice")));
        }
    }
    Ok(secrets)
}

/// `--ssh default`: the agent at `SSH_AUTH_SOCK`.
fn ssh_agent(value: Option<&str>) -> Result<Option<PathBuf>> {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    if value != "default" {
        return Err(Error::usage(format!(
            "--ssh {value}: deployer forwards only the running agent, --ssh default"
        ))
        .with_hint("load the key into the agent (ssh-add KEY) and pass --ssh default"));
    }
    match env::var_os(env::SSH_AUTH_SOCK).filter(|socket| !socket.is_empty()) {
        Some(socket) => Ok(Some(PathBuf::from(socket))),
        None => Err(Error::usage("--ssh default: SSH_AUTH_SOCK is not set, so there is no agent to forward")
            .with_hint("start an agent (eval $(ssh-agent); ssh-add KEY), or in CircleCI add the key with add_ssh_keys")),
    }
}

pub fn ecr_login_settings(
    args: EcrLoginArgs,
    aws: AwsSettings,
) -> Result<ecr_login::EcrLoginSettings> {
    let registry_override = registry_override(&args.registry)?;
    if args.public_registry && args.registry.registry_id.is_some() {
        // A warning, not a refusal: AWS_ECR_REGISTRY_ID may be set for the job's other steps.
        crate::output::warn(
            "--registry-id (or AWS_ECR_REGISTRY_ID) does not apply to ECR Public (--public-registry): its token is the caller's, for every public repository; ignored",
        );
    }
    let docker_config = match args.docker_config {
        Some(path) => path,
        None => match env::var_os(env::DOCKER_CONFIG) {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => {
                let home = env::var_os(env::HOME).ok_or_else(|| {
                    Error::usage("HOME is not set: pass --docker-config FILE or set DOCKER_CONFIG")
                })?;
                PathBuf::from(home).join(".docker").join("config.json")
            }
        },
    };
    Ok(ecr_login::EcrLoginSettings {
        aws,
        registry_id: args.registry.registry_id,
        registry_override,
        docker_config,
        credential_helper: args.credential_helper,
        public: args.public_registry,
    })
}

pub fn tag_image_settings(
    args: TagImageArgs,
    aws: AwsSettings,
) -> Result<tag_image::TagImageSettings> {
    validate_repository(&args.repo).map_err(|e| Error::usage(format!("--repo: {e}")))?;
    let source = parse_tags(std::slice::from_ref(&args.source_tag))
        .map_err(|e| Error::usage(format!("--source-tag: {e}")))?;
    let [source_tag] = <[String; 1]>::try_from(source).map_err(|_| {
        Error::usage(format!(
            "--source-tag {:?}: give one tag (several go to --target-tag)",
            args.source_tag
        ))
    })?;
    let target_tags =
        parse_tags(&args.target_tags).map_err(|e| Error::usage(format!("--target-tag: {e}")))?;
    let registry_override = registry_override(&args.registry)?;
    Ok(tag_image::TagImageSettings {
        aws,
        repository: args.repo,
        source_tag,
        target_tags,
        registry_id: args.registry.registry_id,
        registry_override,
        skip_when_tags_exist: args.skip_when_tags_exist,
        dry_run: args.dry_run,
    })
}

pub fn repo_settings(command: RepoCommand, aws: AwsSettings) -> Result<repo::RepoSettings> {
    let (target, action) = match command {
        RepoCommand::Create(args) => {
            if args.target.public_registry {
                refuse_for_public(&args.new_repository, false)?;
            }
            let new = new_repository(&args.target.repo, &args.new_repository)?;
            (args.target, repo::RepoAction::Create(new))
        }
        RepoCommand::Policy(args) => {
            if args.target.public_registry && args.lifecycle_policy_path.is_some() {
                return Err(Error::usage(
                    "--lifecycle-policy-path does not apply to ECR Public (--public-registry)",
                ));
            }
            let repository_policy = args
                .repo_policy_path
                .as_deref()
                .map(|path| read_policy("--repo-policy-path", path))
                .transpose()?;
            let lifecycle_policy = args
                .lifecycle_policy_path
                .as_deref()
                .map(|path| read_policy("--lifecycle-policy-path", path))
                .transpose()?;
            (
                args.target,
                repo::RepoAction::Policy {
                    repository_policy,
                    lifecycle_policy,
                },
            )
        }
        RepoCommand::Tag(args) => {
            let tags = parse_resource_tags(&args.repo_tags).map_err(Error::usage)?;
            if tags.is_empty() {
                return Err(Error::usage(
                    "--repo-tags needs at least one tag: Key=Value,Key=Value or [{\"Key\":…,\"Value\":…}]",
                ));
            }
            (args.target, repo::RepoAction::Tag(tags))
        }
    };
    validate_repository(&target.repo).map_err(|e| Error::usage(format!("--repo: {e}")))?;
    registry_override(&RegistryArgs {
        registry_id: target.registry_id.clone(),
        registry: None,
    })?;
    Ok(repo::RepoSettings {
        aws,
        repository: target.repo,
        registry_id: target.registry_id,
        public: target.public_registry,
        action,
        dry_run: target.dry_run,
    })
}
