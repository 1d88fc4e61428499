//! `push`'s flags as clap parses them: the registry, the repository it may create, and the
//! build. `deploy` takes them whole; `repo` and `ecr-login` share the registry and repository
//! ones. The values `--builder`, `--repo-tag-mutability` and `--repo-encryption-type` take
//! are here too.
use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};

use crate::env;

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// The account ID of the registry (default: the caller's account). Cross-account registries work in every call.
    #[arg(long, env = env::AWS_ECR_REGISTRY_ID)]
    pub registry_id: Option<String>,

    /// Registry HOST[:PORT] to push to instead of the one ECR names (VPC endpoints, tests).
    #[arg(long, env = env::DEPLOYER_REGISTRY)]
    pub registry: Option<String>,
}

/// How a repository is created (`push --create-repo`, `repo create`).
#[derive(Debug, Args)]
pub struct NewRepositoryArgs {
    /// New repository: scan images on push.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub repo_scan_on_push: bool,

    /// New repository: tag mutability.
    #[arg(long, value_enum, default_value_t = TagMutability::Mutable)]
    pub repo_tag_mutability: TagMutability,

    /// New repository with a *_WITH_EXCLUSION mutability: wildcard filters of the tags that are excepted (repeatable).
    #[arg(long = "repo-tag-mutability-exclusion", value_name = "FILTER")]
    pub repo_tag_mutability_exclusions: Vec<String>,

    /// New repository: encryption type.
    #[arg(long, value_enum)]
    pub repo_encryption_type: Option<EncryptionType>,

    /// New repository with --repo-encryption-type KMS or KMS_DSSE: the KMS key ARN or alias.
    #[arg(long)]
    pub repo_kms_key: Option<String>,

    /// New repository: resource tags, as Key=Value,Key=Value or a JSON list of {"Key","Value"}.
    #[arg(long)]
    pub repo_tags: Option<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// ECR repository name, e.g. tutorial-site-registry.
    #[arg(long, env = env::DEPLOYER_REPO)]
    pub repo: String,

    /// Tags to push: repeat the flag or separate with commas.
    #[arg(long = "tag", default_value = "latest", env = env::DEPLOYER_TAG)]
    pub tags: Vec<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Push to ECR Public (public.ecr.aws; its API is in us-east-1).
    #[arg(long)]
    pub public_registry: bool,

    /// With --public-registry: the registry alias in the image name [default: the repository's own].
    #[arg(long, requires = "public_registry")]
    pub public_registry_alias: Option<String>,

    /// Skip the build and push when every tag already exists in the repository.
    #[arg(long)]
    pub skip_when_tags_exist: bool,

    /// Create the repository when it does not exist.
    #[arg(long)]
    pub create_repo: bool,

    #[command(flatten)]
    pub new_repository: NewRepositoryArgs,

    /// A JSON repository policy to apply (ecr:SetRepositoryPolicy).
    #[arg(long)]
    pub repo_policy_path: Option<PathBuf>,

    /// A JSON lifecycle policy to apply (ecr:PutLifecyclePolicy).
    #[arg(long)]
    pub lifecycle_policy_path: Option<PathBuf>,

    /// The build context directory.
    #[arg(long, default_value = ".")]
    pub build_path: PathBuf,

    /// The directory holding the Dockerfile.
    #[arg(long, default_value = ".")]
    pub path: PathBuf,

    /// The Dockerfile's name inside --path (it may lie outside the build context).
    #[arg(long, default_value = "Dockerfile")]
    pub dockerfile: String,

    /// Build argument K=V, or K to take the value from the environment (repeatable).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,

    /// Build stage to stop at.
    #[arg(long)]
    pub target: Option<String>,

    /// Build for these platforms (os/arch[/variant], comma-separated or repeated); several make
    /// a multi-platform image: one build per platform, then an image index under every tag.
    #[arg(long = "platform", value_name = "OS/ARCH[,…]")]
    pub platforms: Vec<String>,

    /// Image label K=V (repeatable).
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,

    /// Image to use as a cache source, or type=registry,ref=IMAGE (repeatable).
    #[arg(long = "cache-from", value_name = "IMAGE")]
    pub cache_from: Vec<String>,

    /// BuildKit: put inline cache metadata in the image, so a later build's --cache-from can use it [default: on with --cache-from].
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub cache_inline: Option<bool>,

    /// Cache export: only type=inline, the one the daemon's BuildKit has (the same as --cache-inline).
    #[arg(long = "cache-to", value_name = "type=inline")]
    pub cache_to: Vec<String>,

    /// The daemon's builder: auto is BuildKit when the daemon has it (DOCKER_BUILDKIT=0 picks classic, as with the Docker CLI).
    #[arg(long, value_enum, default_value_t = BuilderArg::Auto)]
    pub builder: BuilderArg,

    /// BuildKit: a secret for RUN --mount=type=secret, as id=ID,src=FILE or id=ID,env=VARIABLE (repeatable); it never reaches the image or the log.
    #[arg(long = "secret", value_name = "id=ID,src=FILE|env=VAR")]
    pub secrets: Vec<String>,

    /// The network RUN steps get: default, none or host (docker build's --network).
    #[arg(long, value_name = "MODE", env = env::DEPLOYER_BUILD_NETWORK)]
    pub network: Option<String>,

    /// An /etc/hosts entry for the RUN steps, HOST:IP (repeatable; docker build's --add-host).
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_hosts: Vec<String>,

    /// BuildKit: forward the SSH agent at SSH_AUTH_SOCK to RUN --mount=type=ssh; only "default".
    #[arg(long, value_name = "default")]
    pub ssh: Option<String>,

    /// Do not use the build cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Always pull newer versions of base images.
    #[arg(long)]
    pub pull: bool,

    /// Also name the built image NAME[:TAG] in the local daemon, as docker build -t does (repeatable; not pushed: --tag names what is pushed).
    #[arg(
        long = "local-tag",
        value_name = "NAME[:TAG]",
        conflicts_with = "no_build"
    )]
    pub local_tags: Vec<String>,

    /// Do not build: push the local image named by --image [default: REGISTRY/REPO:TAG, as push --no-push or docker build -t tagged it].
    #[arg(long)]
    pub no_build: bool,

    /// With --no-build: the local image to push (name[:tag] or ID).
    #[arg(long, requires = "no_build")]
    pub image: Option<String>,

    /// The old aws-ecr orb versions this invocation comes from, as ORB@FROM-TO (the orb's aliases of the old names set it): where they behaved differently, deployer says so in the log.
    #[arg(long, value_name = "ORB@FROM-TO")]
    pub old_orb: Option<String>,

    /// Build and tag REGISTRY/REPO:TAG locally, push nothing (the aws-ecr orb's push_image: false).
    #[arg(long, conflicts_with = "no_build")]
    pub no_push: bool,
}

#[derive(Debug, Args)]
pub struct PushCommand {
    #[command(flatten)]
    pub push: PushArgs,

    /// Append DEPLOYER_IMAGE=… and friends to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderArg {
    Auto,
    #[value(name = "buildkit")]
    BuildKit,
    Classic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TagMutability {
    Mutable,
    Immutable,
    ImmutableWithExclusion,
    MutableWithExclusion,
}

impl TagMutability {
    pub fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
            TagMutability::ImmutableWithExclusion => "IMMUTABLE_WITH_EXCLUSION",
            TagMutability::MutableWithExclusion => "MUTABLE_WITH_EXCLUSION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EncryptionType {
    #[value(name = "AES256")]
    Aes256,
    Kms,
    KmsDsse,
}

impl EncryptionType {
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionType::Aes256 => "AES256",
            EncryptionType::Kms => "KMS",
            EncryptionType::KmsDsse => "KMS_DSSE",
        }
    }
}
