//! `deployer push`: ECR login, build through the daemon (or take a local image), push every tag,
//! report `REGISTRY/REPO@sha256:…`. Everything the user passed is checked before AWS is called.
use std::collections::BTreeMap;

use serde::Serialize;

use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::docker::{Builder, Docker};
use crate::adapters::ecr::{Ecr, NewRepository, Repository};
use crate::adapters::ecr_public::{EcrPublic, PUBLIC_REGISTRY};
use crate::adapters::registry::{sha256_digest, Registry};
use crate::commands::steps::image_build::{build_image, short_id};
pub use crate::commands::steps::image_build::{BuildSettings, BuilderChoice, CacheInline};
pub use crate::commands::steps::repository::PolicyFile;
use crate::commands::steps::repository::{self, RegistryApi};
use crate::domain::ecr_token::{registry_from_repository_uri, RegistryCredentials};
use crate::domain::image_identity::{local_registry_digests, manifest_config_digest};
use crate::domain::old_orb::OldOrb;
use crate::domain::platform::{self, Platform};
use crate::domain::tag_mutability::tag_is_immutable;
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

/// Where the image comes from.
#[derive(Debug, Clone)]
pub enum ImageSource {
    Build(Box<BuildSettings>),
    /// `--no-build --image LOCAL`: an image the daemon already has.
    Local(String),
    /// `--no-build` alone: the image the daemon has as `REGISTRY/REPO:TAG` (what `push
    /// --no-push` or `docker build -t` left; the aws-ecr orb's `push_image`).
    LocalTagged,
}

/// Everything `push` needs, resolved by the CLI layer.
#[derive(Debug, Clone)]
pub struct PushSettings {
    pub aws: AwsSettings,
    pub repository: String,
    pub tags: Vec<String>,
    pub registry_id: Option<String>,
    pub registry_override: Option<String>,
    /// Settings for `--create-repo`; `None` means a missing repository is an error.
    pub create_repository: Option<NewRepository>,
    pub repository_policy: Option<PolicyFile>,
    pub lifecycle_policy: Option<PolicyFile>,
    pub source: ImageSource,
    pub skip_when_tags_exist: bool,
    /// False with `--no-push`: build and tag locally only.
    pub push: bool,
    /// Push to ECR Public instead, under this alias (default: the repository's own).
    pub public: Option<PublicRegistry>,
    /// `--old-orb`: the old aws-ecr orb versions the invocation comes from.
    pub old_orb: Option<OldOrb>,
}

/// `--public-registry` and its alias.
#[derive(Debug, Clone, Default)]
pub struct PublicRegistry {
    pub alias: Option<String>,
}

/// What was pushed, for stdout.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    /// `REGISTRY/REPO@sha256:…`; with `--no-push`, `REGISTRY/REPO:TAG` of the first tag.
    pub image: String,
    pub registry: String,
    pub repository: String,
    pub digest: String,
    pub tags: Vec<String>,
    /// `REGISTRY/REPO:TAG` for every tag.
    pub references: Vec<String>,
    /// Tags sent to the registry in this run.
    pub pushed_tags: Vec<String>,
    /// Tags left alone because they already held this image.
    pub unchanged_tags: Vec<String>,
    /// True when `--skip-when-tags-exist` found every tag and nothing was built or pushed.
    pub skipped: bool,
    /// A multi-platform push: each platform's image, which the index (`digest`) lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformImage>,
}

/// One platform's image of a multi-platform push.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformImage {
    /// `linux/arm64`.
    pub platform: String,
    pub digest: String,
    /// `REGISTRY/REPO@sha256:…` of this platform's image.
    pub image: String,
    /// The tag it was pushed under: the first tag with the platform as suffix.
    pub tag: String,
}

impl PushOutcome {
    /// `KEY=value` pairs for `--export-env`.
    pub fn export_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DEPLOYER_IMAGE", self.image.clone()),
            ("DEPLOYER_IMAGE_DIGEST", self.digest.clone()),
            (
                "DEPLOYER_IMAGE_REPOSITORY",
                format!("{}/{}", self.registry, self.repository),
            ),
            ("DEPLOYER_IMAGE_TAGS", self.tags.join(",")),
        ]
    }
}

/// What push will do, found before anything is created, built or pushed: the repository
/// (or that `--create-repo` makes it), where the image goes, which tags are there already.
pub struct PushPlan {
    api: RegistryApi,
    /// `None` when `--create-repo` creates it.
    repository: Option<Repository>,
    /// The registry host; empty while a private repository is still to be created.
    registry: String,
    /// `REGISTRY/PATH`, the image's name; `None` for a repository still to be created (without
    /// `--registry`), whose URI ECR gives at creation.
    target: Option<String>,
    existing: BTreeMap<String, String>,
    /// `--skip-when-tags-exist` found every tag: the outcome, with nothing to do.
    skipped: Option<PushOutcome>,
    /// The daemon and the registry's credentials, when something is to be built or pushed.
    session: Option<(Docker, RegistryCredentials)>,
    /// The builder for a build, and why it was chosen.
    builder: Option<(Builder, String)>,
    /// For `--no-build` without `--image`: the ID of the local image every tag names.
    local_tagged: Option<String>,
}

impl PushPlan {
    /// Describes the plan on stderr for `--dry-run`.
    pub fn show(&self, settings: &PushSettings) {
        let name = self
            .target
            .clone()
            .unwrap_or_else(|| settings.repository.clone());
        if self.repository.is_none() {
            output::step(format!(
                "dry run: would create repository {}",
                settings.repository
            ));
        }
        if self.skipped.is_some() {
            output::step(format!(
                "dry run: every tag ({}) is in {name} already: would build and push nothing",
                settings.tags.join(", ")
            ));
            return;
        }
        let source = match &settings.source {
            ImageSource::Build(build) => format!(
                "build {} (Dockerfile {}){}",
                build.context.context_dir.display(),
                build.context.dockerfile_in_tar,
                match build.platforms.len() {
                    0 => String::new(),
                    1 => format!(" for {}", build.platforms[0]),
                    _ => format!(
                        " for {}, push each under {}-OS-ARCH and an image index of them",
                        build
                            .platforms
                            .iter()
                            .map(Platform::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        settings.tags[0]
                    ),
                }
            ),
            ImageSource::Local(image) => format!("take local image {image}"),
            ImageSource::LocalTagged => format!("take local image {name}:{}", settings.tags[0]),
        };
        let tags: Vec<String> = settings
            .tags
            .iter()
            .map(|tag| format!("{name}:{tag}"))
            .collect();
        output::step(format!(
            "dry run: would {source}, then {} {}",
            if settings.push { "push" } else { "tag locally" },
            tags.join(", ")
        ));
    }
}

pub async fn run(settings: PushSettings) -> Result<PushOutcome> {
    let config = aws::load(&settings.aws).await?;
    let plan = plan(&config, &settings).await?;
    apply(plan, &settings).await
}

/// Finds everything push needs before its first side effect. A repository that does not exist
/// (without `--create-repo`) is exit 2, with nothing created, built or pushed.
pub async fn plan(config: &aws::AwsConfig, settings: &PushSettings) -> Result<PushPlan> {
    let registry = plan_registry(config, settings).await?;
    plan_docker(registry, settings).await
}

/// What the push needs from the registry, planned before the Docker daemon is asked anything:
/// the repository, its tags, the credentials and the image's name.
pub struct RegistryPlan {
    api: RegistryApi,
    repository: Option<Repository>,
    registry: String,
    target: Option<String>,
    existing: BTreeMap<String, String>,
    skipped: Option<PushOutcome>,
    /// `None` when `--skip-when-tags-exist` found every tag: nothing to push.
    credentials: Option<RegistryCredentials>,
}

impl RegistryPlan {
    /// The image's name, `REGISTRY/PATH`, as a task definition will name it: known for an
    /// existing repository, and for a private one still to be created it is the repository on
    /// the host the registry's credentials name (as ECR names it at creation).
    pub fn image_name(&self, settings: &PushSettings) -> Option<String> {
        if let Some(target) = &self.target {
            return Some(target.clone());
        }
        match (&settings.public, &self.credentials) {
            (None, Some(credentials)) => {
                Some(format!("{}/{}", credentials.registry, settings.repository))
            }
            _ => None,
        }
    }
}

/// The registry's part of the plan: every AWS lookup, none of the daemon.
pub async fn plan_registry(
    config: &aws::AwsConfig,
    settings: &PushSettings,
) -> Result<RegistryPlan> {
    let api = match &settings.public {
        None => RegistryApi::Private(Ecr::new(config, settings.registry_id.clone())),
        Some(_) => RegistryApi::Public(EcrPublic::new(config, settings.registry_id.clone())),
    };
    let repository = api.find_repository(&settings.repository).await?;
    if repository.is_none() && settings.create_repository.is_none() {
        return Err(repository::missing(&settings.repository, settings.registry_id.as_deref())
        .with_hint("check --repo and --registry-id, create it (Terraform's aws_ecr_repository), or pass --create-repo"));
    }
    let mut existing = BTreeMap::new();
    if let Some(found) = &repository {
        let needs_existing = settings.skip_when_tags_exist
            || (settings.push
                && settings.tags.iter().any(|tag| {
                    tag_is_immutable(&found.tag_mutability, &found.exclusion_filters, tag)
                }));
        if needs_existing {
            existing = api.tagged_digests(&settings.repository).await?;
        }
    }
    let all_tags_there =
        settings.skip_when_tags_exist && settings.tags.iter().all(|tag| existing.contains_key(tag));
    let credentials = if all_tags_there {
        None
    } else {
        Some(api.authorization().await?)
    };
    // A repository still to be created has its name from ECR at creation; until then the
    // registry host is what the credentials name.
    let registry = match (&settings.registry_override, &settings.public, &repository) {
        (Some(registry), _, _) => Some(registry.clone()),
        (None, Some(_), _) => Some(PUBLIC_REGISTRY.to_string()),
        (None, None, Some(found)) => Some(registry_from_repository_uri(&found.uri).to_string()),
        (None, None, None) => None,
    };
    let path = match &repository {
        Some(found) => Some(image_path(settings, found)),
        None => match &settings.public {
            Some(PublicRegistry { alias: Some(alias) }) => {
                Some(format!("{alias}/{}", settings.repository))
            }
            Some(PublicRegistry { alias: None }) => None,
            None => Some(settings.repository.clone()),
        },
    };
    let target = registry
        .as_ref()
        .zip(path.as_ref())
        .map(|(registry, path)| format!("{registry}/{path}"));
    let registry = registry.unwrap_or_default();
    let skipped = match (&path, settings.skip_when_tags_exist) {
        (Some(path), true) => skip_if_present(settings, &registry, path, &existing),
        _ => None,
    };
    Ok(RegistryPlan {
        api,
        repository,
        registry,
        target,
        existing,
        skipped,
        credentials,
    })
}

/// The daemon's part of the plan: reaching it, the builder it offers, the local image.
pub async fn plan_docker(planned: RegistryPlan, settings: &PushSettings) -> Result<PushPlan> {
    let RegistryPlan {
        api,
        repository,
        registry,
        target,
        existing,
        skipped,
        credentials,
    } = planned;
    let (session, builder) = match credentials {
        None => (None, None),
        Some(credentials) => {
            let docker = Docker::connect().await?;
            let builder = match &settings.source {
                ImageSource::Build(build) => {
                    let engine = docker.engine().await?;
                    build.check_emulation(&engine, docker.host())?;
                    Some(build.resolve_builder(&engine)?)
                }
                ImageSource::Local(_) | ImageSource::LocalTagged => None,
            };
            (Some((docker, credentials)), builder)
        }
    };
    let local_tagged = match (&settings.source, &session, &skipped) {
        (ImageSource::LocalTagged, Some((docker, credentials)), None) => {
            let name = target
                .clone()
                .unwrap_or_else(|| format!("{}/{}", credentials.registry, settings.repository));
            Some(local_tagged_image(docker, &name, &settings.tags).await?)
        }
        _ => None,
    };
    Ok(PushPlan {
        api,
        repository,
        registry,
        target,
        existing,
        skipped,
        session,
        builder,
        local_tagged,
    })
}

/// Carries the plan out: creates the repository when asked, applies the policies, builds (or
/// takes the local image), tags and pushes. Each change is recorded as it happens.
pub async fn apply(plan: PushPlan, settings: &PushSettings) -> Result<PushOutcome> {
    output::set_interrupt_hint(
        "nothing more was started; a build or push under way in the Docker daemon stops with it",
    );
    let PushPlan {
        api,
        repository,
        registry,
        target,
        mut existing,
        skipped,
        session,
        builder,
        local_tagged,
    } = plan;
    if let Some(outcome) = skipped {
        return Ok(outcome);
    }
    let repository = ensure_repository(&api, settings, repository).await?;
    let (registry, target) = match target {
        Some(target) => (registry, target),
        None => {
            let registry = match &settings.public {
                Some(_) => PUBLIC_REGISTRY.to_string(),
                None => registry_from_repository_uri(&repository.uri).to_string(),
            };
            let target = format!("{registry}/{}", image_path(settings, &repository));
            (registry, target)
        }
    };
    let path = target
        .strip_prefix(&format!("{registry}/"))
        .unwrap_or(&target)
        .to_string();
    let Some((docker, mut credentials)) = session else {
        return Err(Error::usage("nothing to build or push was planned"));
    };
    output::step(format!("logged in to {registry}"));
    credentials.registry = registry.clone();

    let image_id = match &settings.source {
        ImageSource::Build(build) => {
            let (builder, why) = builder.unwrap_or((Builder::Classic, String::new()));
            output::step(match builder {
                Builder::BuildKit => format!("builder: BuildKit ({why})"),
                Builder::Classic => format!("builder: classic ({why})"),
            });
            if build.platforms.len() > 1 {
                let destination = Destination {
                    api: &api,
                    repository: &repository,
                    registry: &registry,
                    path: &path,
                    target: &target,
                };
                return push_multi_platform(
                    &docker,
                    build,
                    builder,
                    destination,
                    settings,
                    &credentials,
                    existing,
                )
                .await;
            }
            let image_id = build_image(
                &docker,
                build,
                build.platforms.first(),
                builder,
                &format!("{target}:{}", settings.tags[0]),
                &credentials,
            )
            .await?;
            for local in &build.local_tags {
                let tag = local.tag.as_deref().unwrap_or("latest");
                docker.tag(&image_id, &local.name(), tag).await?;
                output::step(format!(
                    "tagged {}:{tag} locally (--local-tag, docker build's -t)",
                    local.name()
                ));
            }
            image_id
        }
        ImageSource::Local(image) => {
            let id = docker.image_id(image).await?;
            output::step(format!("using local image {image} ({})", short_id(&id)));
            id
        }
        ImageSource::LocalTagged => {
            local_tagged.ok_or_else(|| Error::usage("the local image was not found in the plan"))?
        }
    };

    if !settings.push {
        for tag in &settings.tags {
            docker.tag(&image_id, &target, tag).await?;
            output::step(format!(
                "tagged {target}:{tag} locally; not pushed (--no-push)"
            ));
        }
        let mut outcome = outcome(
            settings,
            &registry,
            &path,
            String::new(),
            Vec::new(),
            Vec::new(),
            false,
        );
        outcome.image = outcome.references[0].clone();
        return Ok(outcome);
    }

    if existing.is_empty()
        && settings.tags.iter().any(|tag| {
            tag_is_immutable(
                &repository.tag_mutability,
                &repository.exclusion_filters,
                tag,
            )
        })
    {
        existing = api.tagged_digests(&settings.repository).await?;
    }
    let unchanged = match &api {
        RegistryApi::Private(ecr) => {
            immutable_tags_holding(ecr, &docker, settings, &repository, &existing, &image_id)
                .await?
        }
        RegistryApi::Public(_) => Vec::new(),
    };
    let mut digest = None;
    let mut pushed_tags = Vec::new();
    for tag in &settings.tags {
        if unchanged.contains(tag) {
            output::step(format!(
                "{target}:{tag} already holds this image in an immutable repository: left as it is"
            ));
            continue;
        }
        docker.tag(&image_id, &target, tag).await?;
        output::step(format!("pushing {target}:{tag}"));
        let pushed = docker.push(&target, tag, &credentials).await?;
        journal::record(format!("pushed {target}:{tag} ({target}@{pushed})"));
        if let Some(previous) = &digest {
            if previous != &pushed {
                output::warn(format!(
                    "tag {tag} was stored as {pushed}, other tags as {previous}"
                ));
            }
        }
        digest.get_or_insert(pushed);
        pushed_tags.push(tag.clone());
    }
    let digest = match digest {
        Some(digest) => digest,
        None => existing
            .get(&settings.tags[0])
            .cloned()
            .ok_or_else(|| Error::environment("ECR reported the tags but not their digest"))?,
    };
    Ok(outcome(
        settings,
        &registry,
        &path,
        digest,
        pushed_tags,
        unchanged,
        false,
    ))
}

/// Immutable tags that already exist must hold an index of exactly these images (the images
/// this daemon built or pulled, by their registry digests): anything else stops the push
/// before a platform image or the index is sent.
async fn refuse_immutable_tags_holding_another_index(
    docker: &Docker,
    api: &RegistryApi,
    settings: &PushSettings,
    built: &[(Platform, String, String)],
    existing: &BTreeMap<String, String>,
    immutable: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let taken: Vec<String> = settings
        .tags
        .iter()
        .filter(|tag| existing.contains_key(*tag) && immutable(tag))
        .cloned()
        .collect();
    let RegistryApi::Private(ecr) = api else {
        return Ok(());
    };
    if taken.is_empty() {
        return Ok(());
    }
    let digests: Vec<String> = taken.iter().map(|tag| existing[tag].clone()).collect();
    let manifests = ecr
        .manifests_by_digest(&settings.repository, &digests)
        .await?;
    let mut local = BTreeMap::new();
    for (platform, _, image_id) in built {
        let digests = local_registry_digests(image_id, &docker.repo_digests(image_id).await?);
        local.insert(platform.clone(), digests);
    }
    for tag in taken {
        let listed = manifests
            .get(&existing[&tag])
            .and_then(|manifest| platform::index_images(manifest));
        let same = listed.is_some_and(|listed| {
            listed.len() == built.len()
                && listed.iter().all(|(platform, digest)| {
                    local
                        .get(platform)
                        .is_some_and(|digests| digests.contains(digest))
                })
        });
        if !same {
            return Err(Error::failed(format!(
                "tag {tag} already exists in the immutable repository {} and holds another image ({})",
                settings.repository, existing[&tag]
            ))
            .with_detail("it is not an index of the images this run built")
            .with_hint("push under a new tag (a version or the commit SHA); immutable tags cannot be moved"));
        }
    }
    Ok(())
}

/// Where a push goes, once the repository exists.
struct Destination<'a> {
    api: &'a RegistryApi,
    repository: &'a Repository,
    registry: &'a str,
    /// The image's path in the registry.
    path: &'a str,
    /// `REGISTRY/PATH`.
    target: &'a str,
}

/// A multi-platform image: one build per platform (all before any push, so a failing build
/// pushes nothing), each pushed under the first tag with the platform as suffix
/// (`v1-linux-arm64`, as the Docker engine pushes only tagged images), then one image index
/// listing them pushed under every tag. Immutable tags already holding the same image or index
/// are left as they are; holding another is refused before the index is pushed.
async fn push_multi_platform(
    docker: &Docker,
    build: &BuildSettings,
    builder: Builder,
    destination: Destination<'_>,
    settings: &PushSettings,
    credentials: &RegistryCredentials,
    mut existing: BTreeMap<String, String>,
) -> Result<PushOutcome> {
    let Destination {
        api,
        repository,
        registry,
        path,
        target,
    } = destination;
    let first_tag = &settings.tags[0];
    let mut built = Vec::new();
    for platform in &build.platforms {
        let tag = format!("{first_tag}-{}", platform.tag_suffix());
        let image_id = build_image(
            docker,
            build,
            Some(platform),
            builder,
            &format!("{target}:{tag}"),
            credentials,
        )
        .await?;
        built.push((platform.clone(), tag, image_id));
    }
    let immutable = |tag: &str| {
        tag_is_immutable(
            &repository.tag_mutability,
            &repository.exclusion_filters,
            tag,
        )
    };
    let platform_tags = built.iter().map(|(_, tag, _)| tag);
    if existing.is_empty()
        && settings
            .tags
            .iter()
            .chain(platform_tags)
            .any(|tag| immutable(tag))
    {
        existing = api.tagged_digests(&settings.repository).await?;
    }
    refuse_immutable_tags_holding_another_index(
        docker, api, settings, &built, &existing, &immutable,
    )
    .await?;
    let registry_api = Registry::new(credentials)?;
    let mut images = Vec::new();
    let mut platforms = Vec::new();
    let mut pushed_tags = Vec::new();
    let mut unchanged = Vec::new();
    for (platform, tag, image_id) in built {
        let digest = match existing.get(&tag).filter(|_| immutable(&tag)) {
            Some(held) => {
                let local =
                    local_registry_digests(&image_id, &docker.repo_digests(&image_id).await?);
                if !local.contains(held) {
                    return Err(Error::failed(format!(
                        "tag {tag} already exists in the immutable repository {} and holds another image ({held})",
                        settings.repository
                    ))
                    .with_detail(format!("this build for {platform} is {}", short_id(&image_id)))
                    .with_hint("push under a new tag (a version or the commit SHA); immutable tags cannot be moved"));
                }
                output::step(format!(
                    "{target}:{tag} already holds this {platform} image in an immutable repository: left as it is"
                ));
                unchanged.push(tag.clone());
                held.clone()
            }
            None => {
                docker.tag(&image_id, target, &tag).await?;
                output::step(format!("pushing {target}:{tag} ({platform})"));
                let pushed = docker.push(target, &tag, credentials).await?;
                journal::record(format!("pushed {target}:{tag} ({target}@{pushed})"));
                pushed_tags.push(tag.clone());
                pushed
            }
        };
        let descriptor = registry_api.descriptor(path, &digest).await?;
        platforms.push(PlatformImage {
            platform: platform.to_string(),
            digest: descriptor.digest.clone(),
            image: format!("{target}@{}", descriptor.digest),
            tag,
        });
        images.push((platform, descriptor));
    }
    let (index, media_type) = platform::image_index(&images);
    let index_digest = sha256_digest(index.as_bytes());
    let mut to_push = Vec::new();
    for tag in &settings.tags {
        match existing.get(tag).filter(|_| immutable(tag)) {
            Some(held) if held == &index_digest => {
                output::step(format!(
                    "{target}:{tag} already holds this index in an immutable repository: left as it is"
                ));
                unchanged.push(tag.clone());
            }
            Some(held) => {
                return Err(Error::failed(format!(
                    "tag {tag} already exists in the immutable repository {} and holds another image ({held})",
                    settings.repository
                ))
                .with_detail(format!("this build's index is {index_digest}"))
                .with_hint("push under a new tag (a version or the commit SHA); immutable tags cannot be moved"))
            }
            None => to_push.push(tag),
        }
    }
    for tag in to_push {
        output::step(format!(
            "pushing the index of {} platforms as {target}:{tag}",
            images.len()
        ));
        let stored = registry_api
            .put_index(path, tag, media_type, &index)
            .await?;
        journal::record(format!(
            "pushed the index {target}:{tag} ({target}@{stored})"
        ));
        if stored != index_digest {
            output::warn(format!(
                "the registry stored the index of {tag} as {stored}, not {index_digest}"
            ));
        }
        pushed_tags.push(tag.clone());
    }
    let mut outcome = outcome(
        settings,
        registry,
        path,
        index_digest,
        pushed_tags,
        unchanged,
        false,
    );
    outcome.platforms = platforms;
    Ok(outcome)
}

/// `--no-build` without `--image`: the local image tagged `NAME:TAG` for every tag, which must
/// be one image (a push sends one image under every tag).
async fn local_tagged_image(docker: &Docker, name: &str, tags: &[String]) -> Result<String> {
    let mut found: Option<(String, String)> = None;
    for tag in tags {
        let reference = format!("{name}:{tag}");
        let id = docker.image_id(&reference).await.map_err(|error| {
            Error::from(error).with_hint(format!(
                "--no-build pushes the local {reference}: build it first (push --no-push, or docker build -t {reference}), or name another image with --image"
            ))
        })?;
        match &found {
            Some((first, first_id)) if *first_id != id => {
                return Err(Error::usage(format!(
                    "the local {reference} ({}) is another image than {first} ({}): one push sends one image under every tag",
                    short_id(&id),
                    short_id(first_id)
                ))
                .with_hint("push them in separate runs, or tag them alike"));
            }
            Some(_) => {}
            None => {
                output::step(format!("using local image {reference} ({})", short_id(&id)));
                found = Some((reference, id));
            }
        }
    }
    found
        .map(|(_, id)| id)
        .ok_or_else(|| Error::usage("--no-build needs at least one --tag"))
}

/// The image's path in the registry: the repository name, under the alias for ECR Public.
fn image_path(settings: &PushSettings, repository: &Repository) -> String {
    match &settings.public {
        Some(PublicRegistry { alias: Some(alias) }) => format!("{alias}/{}", settings.repository),
        Some(PublicRegistry { alias: None }) => match repository.uri.split_once('/') {
            Some((_, path)) => path.to_string(),
            None => settings.repository.clone(),
        },
        None => settings.repository.clone(),
    }
}

async fn ensure_repository(
    api: &RegistryApi,
    settings: &PushSettings,
    found: Option<Repository>,
) -> Result<Repository> {
    let repository = match found {
        Some(repository) => repository,
        None => match &settings.create_repository {
            Some(new) => repository::create(api, new).await?,
            // The plan refused a missing repository without --create-repo.
            None => return Err(repository::missing(&settings.repository, None)),
        },
    };
    repository::apply_policies(
        api,
        &settings.repository,
        settings.repository_policy.as_ref(),
        settings.lifecycle_policy.as_ref(),
    )
    .await?;
    Ok(repository)
}

fn skip_if_present(
    settings: &PushSettings,
    registry: &str,
    path: &str,
    existing: &BTreeMap<String, String>,
) -> Option<PushOutcome> {
    let missing: Vec<&String> = settings
        .tags
        .iter()
        .filter(|tag| !existing.contains_key(*tag))
        .collect();
    if !missing.is_empty() {
        output::step(format!(
            "tag{} {} not in ECR yet: building and pushing",
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return None;
    }
    let digest = existing[&settings.tags[0]].clone();
    output::step(format!(
        "every tag ({}) is already in {}: skipping build and push",
        settings.tags.join(", "),
        settings.repository
    ));
    // aws-ecr 8.0.0-8.1.3 compared the AWS CLI's `true` with `1`, so its skip never happened
    // (fixed in 8.2.0): a pipeline on those versions rebuilt and re-pushed these tags every run.
    if let Some(old) = settings
        .old_orb
        .as_ref()
        .filter(|old| old.overlaps("aws-ecr", (8, 0), (8, 1)))
    {
        output::warn(format!(
            "skip-when-tags-exist skipped here, which the aws-ecr orb 8.0-8.1 never did (this \
             name serves {old}; the skip was fixed in 8.2.0): those versions rebuilt and re-pushed \
             {tags} every run. Nothing was built: the image deployed next is the one ECR already \
             holds under {tags} ({digest}); set skip-when-tags-exist: false to rebuild as they did",
            tags = settings.tags.join(", ")
        ));
    }
    Some(outcome(
        settings,
        registry,
        path,
        digest,
        Vec::new(),
        settings.tags.clone(),
        true,
    ))
}

/// For immutable tags that already exist: the ones holding this very image are left alone,
/// any holding another image stop the push before anything is sent. "This very image" is
/// decided on registry digests: the digest ECR reports for the tag against the digests the
/// daemon knows the local image by, which is right for the classic and containerd image
/// stores, for manifests and for OCI indexes alike.
async fn immutable_tags_holding(
    ecr: &Ecr,
    docker: &Docker,
    settings: &PushSettings,
    repository: &Repository,
    existing: &BTreeMap<String, String>,
    image_id: &str,
) -> Result<Vec<String>> {
    let taken: Vec<String> = settings
        .tags
        .iter()
        .filter(|tag| existing.contains_key(*tag))
        .filter(|tag| {
            tag_is_immutable(
                &repository.tag_mutability,
                &repository.exclusion_filters,
                tag,
            )
        })
        .cloned()
        .collect();
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let local = local_registry_digests(image_id, &docker.repo_digests(image_id).await?);
    // An image this daemon never pushed nor pulled (one restored with `docker load` on a
    // re-run) has no registry digest yet; in the classic store its ID is its config digest,
    // which the tag's manifest names when it holds the same image.
    let unmatched: Vec<String> = taken
        .iter()
        .filter(|tag| !local.contains(&existing[*tag]))
        .cloned()
        .collect();
    let manifests = if unmatched.is_empty() {
        BTreeMap::new()
    } else {
        ecr.manifests(&settings.repository, &unmatched).await?
    };
    let mut unchanged = Vec::new();
    for tag in taken {
        let same_config = manifests
            .get(&tag)
            .and_then(|manifest| manifest_config_digest(manifest))
            .is_some_and(|config| config == image_id);
        if local.contains(&existing[&tag]) || same_config {
            unchanged.push(tag);
        } else {
            return Err(Error::failed(format!(
                "tag {tag} already exists in the immutable repository {} and holds another image ({})",
                settings.repository, existing[&tag]
            ))
            .with_detail(format!("this build is {}", short_id(image_id)))
            .with_hint("push under a new tag (a version or the commit SHA); immutable tags cannot be moved"));
        }
    }
    Ok(unchanged)
}

fn outcome(
    settings: &PushSettings,
    registry: &str,
    path: &str,
    digest: String,
    pushed_tags: Vec<String>,
    unchanged_tags: Vec<String>,
    skipped: bool,
) -> PushOutcome {
    let name = format!("{registry}/{path}");
    PushOutcome {
        image: format!("{name}@{digest}"),
        registry: registry.to_string(),
        repository: path.to_string(),
        references: settings
            .tags
            .iter()
            .map(|tag| format!("{name}:{tag}"))
            .collect(),
        tags: settings.tags.clone(),
        digest,
        pushed_tags,
        unchanged_tags,
        skipped,
        platforms: Vec::new(),
    }
}
