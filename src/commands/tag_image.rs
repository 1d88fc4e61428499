//! `deployer tag-image`: adds tags to an image already in ECR without pulling it (the aws-ecr
//! orb's `tag_image`): BatchGetImage reads the source tag's manifest, PutImage stores the same
//! bytes under each target tag, so an image index keeps every platform. Everything is decided
//! before the first PutImage: the source exists, and no immutable tag would have to move.
use serde::Serialize;

use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecr::{Ecr, PutImageResult, StoredManifest};
use crate::commands::steps::repository;
use crate::domain::ecr_token::registry_from_repository_uri;
use crate::domain::retag::{plan_tags, Mutability, TagAction};
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

#[derive(Debug, Clone)]
pub struct TagImageSettings {
    pub aws: AwsSettings,
    pub repository: String,
    pub source_tag: String,
    pub target_tags: Vec<String>,
    pub registry_id: Option<String>,
    /// The registry host in the printed references instead of the repository URI's.
    pub registry_override: Option<String>,
    /// Leave every target tag that exists as it is, whatever it holds.
    pub skip_when_tags_exist: bool,
    pub dry_run: bool,
}

/// What was tagged, for stdout.
#[derive(Debug, Clone, Serialize)]
pub struct TagImageOutcome {
    /// `REGISTRY/REPO@sha256:…` of the source tag's image (an index for a multi-platform one).
    pub image: String,
    pub digest: String,
    pub media_type: String,
    /// `REGISTRY/REPO:TAG` for every target tag.
    pub references: Vec<String>,
    /// Tags that PutImage added or moved in this run.
    pub tagged: Vec<String>,
    /// Tags that held the image already.
    pub unchanged: Vec<String>,
    /// Tags left alone by `--skip-when-tags-exist`.
    pub skipped: Vec<String>,
    pub dry_run: bool,
}

pub async fn run(settings: TagImageSettings) -> Result<TagImageOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecr = Ecr::new(&config, settings.registry_id.clone());
    let name = &settings.repository;

    let found = ecr.find_repository(name).await?.ok_or_else(|| {
        repository::missing(name, settings.registry_id.as_deref())
            .with_hint("check --repo and --registry-id; tag-image tags images already pushed")
    })?;
    let source = ecr
        .stored_manifest(name, &settings.source_tag)
        .await?
        .ok_or_else(|| {
            Error::usage(format!(
                "tag {} is not in repository {name}: there is no image to tag",
                settings.source_tag
            ))
            .with_hint("push it first (deployer push --tag …), or check --source-tag")
        })?;
    let existing = ecr.tagged_digests(name).await?;
    let actions = plan_tags(
        &settings.target_tags,
        &source.digest,
        &existing,
        Mutability {
            setting: &found.tag_mutability,
            exclusion_filters: &found.exclusion_filters,
        },
        settings.skip_when_tags_exist,
    )
    .map_err(|refusal| {
        Error::usage(format!("{name}: {refusal}"))
            .with_detail(format!(
                "{}:{} is {}",
                name, settings.source_tag, source.digest
            ))
            .with_hint("nothing was tagged; pick tags that are free, or --skip-when-tags-exist to leave existing ones")
    })?;

    let registry = settings
        .registry_override
        .clone()
        .unwrap_or_else(|| registry_from_repository_uri(&found.uri).to_string());
    let image_name = format!("{registry}/{name}");
    output::step(format!(
        "{image_name}:{} is {} ({})",
        settings.source_tag,
        source.digest,
        kind(&source.media_type)
    ));
    let mut outcome = TagImageOutcome {
        image: format!("{image_name}@{}", source.digest),
        digest: source.digest.clone(),
        media_type: source.media_type.clone(),
        references: settings
            .target_tags
            .iter()
            .map(|tag| format!("{image_name}:{tag}"))
            .collect(),
        tagged: Vec::new(),
        unchanged: Vec::new(),
        skipped: Vec::new(),
        dry_run: settings.dry_run,
    };
    if settings.dry_run {
        for (tag, action) in &actions {
            let verb = match action {
                TagAction::Add | TagAction::Move { .. } => "would tag ",
                TagAction::Unchanged | TagAction::Skipped { .. } => "",
            };
            output::step(format!(
                "dry run: {verb}{}",
                describe(&image_name, tag, action)
            ));
        }
        return Ok(outcome);
    }
    output::set_interrupt_hint("tags already put stay; nothing else was started");
    apply(&ecr, &settings, &source, &image_name, actions, &mut outcome).await?;
    Ok(outcome)
}

async fn apply(
    ecr: &Ecr,
    settings: &TagImageSettings,
    source: &StoredManifest,
    image_name: &str,
    actions: Vec<(String, TagAction)>,
    outcome: &mut TagImageOutcome,
) -> Result<()> {
    for (tag, action) in actions {
        match action {
            TagAction::Unchanged => {
                output::step(format!(
                    "{image_name}:{tag} holds this image already: left as it is"
                ));
                outcome.unchanged.push(tag);
            }
            TagAction::Skipped { holds } => {
                output::step(format!(
                    "{image_name}:{tag} exists ({holds}): skipped (--skip-when-tags-exist)"
                ));
                outcome.skipped.push(tag);
            }
            TagAction::Add | TagAction::Move { .. } => {
                match ecr.put_image(&settings.repository, &tag, source).await? {
                    PutImageResult::Tagged => {
                        journal::record(format!("tagged {image_name}:{tag} ({})", source.digest));
                        output::step(format!("tagged {}", describe(image_name, &tag, &action)));
                        outcome.tagged.push(tag);
                    }
                    PutImageResult::AlreadyThere => {
                        output::step(format!(
                            "{image_name}:{tag} holds this image already: left as it is"
                        ));
                        outcome.unchanged.push(tag);
                    }
                }
            }
        }
    }
    Ok(())
}

fn describe(image_name: &str, tag: &str, action: &TagAction) -> String {
    match action {
        TagAction::Add => format!("{image_name}:{tag} (new tag)"),
        TagAction::Move { from } => format!("{image_name}:{tag} (moved from {from})"),
        TagAction::Unchanged => format!("{image_name}:{tag} holds this image already"),
        TagAction::Skipped { holds } => {
            format!("{image_name}:{tag} exists ({holds}): skipped (--skip-when-tags-exist)")
        }
    }
}

/// The manifest's kind in words, for the log line.
fn kind(media_type: &str) -> &'static str {
    match media_type {
        "application/vnd.oci.image.index.v1+json" => "an OCI image index",
        "application/vnd.docker.distribution.manifest.list.v2+json" => "a Docker manifest list",
        "application/vnd.oci.image.manifest.v1+json" => "an OCI image manifest",
        "application/vnd.docker.distribution.manifest.v2+json" => "a Docker image manifest",
        _ => "a manifest",
    }
}
