//! The plan's check that a new image reference exists in ECR (and is not archived) before a
//! revision that names it is registered. Images in other registries are not checked, and the
//! log says so.
use crate::adapters::aws::AwsConfig;
use crate::adapters::ecr::{Ecr, ImageLookup};
use crate::domain::ecr_image::{locate, ImageSelector};
use crate::domain::reference::{ImageReference, InvalidReference};
use crate::domain::verify::Verdict;
use crate::error::{Error, Result};
use crate::output;

/// Asks ECR about the images a plan introduces.
pub struct ImageCheck<'a> {
    config: &'a AwsConfig,
    /// `registry/repository` that this run pushes before registering (`deploy`): not there yet.
    pushing: Option<String>,
}

impl<'a> ImageCheck<'a> {
    pub fn new(config: &'a AwsConfig) -> Self {
        ImageCheck {
            config,
            pushing: None,
        }
    }

    /// Leaves out the image `name` (`registry/repository`) that this run pushes itself.
    pub fn pushing(mut self, name: impl Into<String>) -> Self {
        self.pushing = Some(name.into());
        self
    }

    /// Fails with exit 2, naming the container and the image, when a new image of an ECR
    /// repository is missing or archived.
    pub async fn verify(&self, images: &[(String, String)]) -> Result<()> {
        for (container, image) in images {
            let invalid = |e: InvalidReference| {
                Error::usage(format!(
                    "container {container}: image {image:?} is not valid: {e}"
                ))
            };
            // The image this run pushes before it registers: not there yet, by design.
            if self.pushing.as_deref()
                == Some(
                    ImageReference::parse(image)
                        .map_err(invalid)?
                        .name()
                        .as_str(),
                )
            {
                continue;
            }
            let Some(location) = locate(image).map_err(invalid)? else {
                let reference = ImageReference::parse(image).map_err(invalid)?;
                match self.ecr_namesake(&reference).await {
                    Some(uri) => output::warn(format!(
                        "{container}: {image} names an image on Docker Hub, and this account's ECR has a repository {}: ECS will pull from Docker Hub; for the ECR image give {uri}{}",
                        reference.repository,
                        image.strip_prefix(reference.repository.as_str()).unwrap_or_default()
                    )),
                    None => output::step(format!(
                        "{container}: {image} is not in a private ECR registry; not checked"
                    )),
                }
                continue;
            };
            let ecr = Ecr::for_registry(self.config, &location.account, &location.region);
            let state = ecr
                .image_status(&location.repository, &location.selector)
                .await?;
            match state {
                ImageLookup::NotAllowed(why) => output::warn(format!(
                    "{container}: {image} not checked: {why} (allow ecr:DescribeImages to have deployer check images before it registers them)"
                )),
                ImageLookup::Missing | ImageLookup::NoRepository => {
                    let hint = match &location.selector {
                        ImageSelector::Tag(_) => "check the tag (push it first, e.g. with deployer push), or deploy a tag that exists",
                        ImageSelector::Digest(_) => "check the digest, or deploy by a tag that exists",
                    };
                    return Err(Error::usage(format!(
                        "container {container}: image {image} does not exist: repository {} in registry {} ({}) has no {}",
                        location.repository, location.account, location.region, location.selector
                    ))
                    .with_hint(hint));
                }
                ImageLookup::Found(state) if state.status == "ARCHIVED" => {
                    return Err(Error::usage(format!(
                        "container {container}: image {image} is archived in ECR: ECS cannot pull it"
                    ))
                    .with_hint("restore it first (aws ecr update-image-storage-class --target-storage-class STANDARD), then deploy"));
                }
                ImageLookup::Found(state) => output::step(format!(
                    "{container}: {image} is in ECR ({})",
                    short_digest(&state.digest)
                )),
            }
        }
        Ok(())
    }
}

impl ImageCheck<'_> {
    /// How `image` stands, for `deployer verify` and the plan's checks of the images a revision
    /// keeps: an error only when ECR fails.
    pub async fn verdict(&self, image: &str) -> Result<Verdict> {
        let reference = match ImageReference::parse(image) {
            Ok(reference) => reference,
            Err(e) => return Ok(Verdict::Invalid(format!("not an image reference: {e}"))),
        };
        if self.pushing.as_deref() == Some(reference.name().as_str()) {
            return Ok(Verdict::Ok("this run pushes it before it registers".into()));
        }
        let Ok(Some(location)) = locate(image) else {
            return Ok(Verdict::NotChecked(
                "not in a private ECR registry: deployer does not read other registries' credentials"
                    .into(),
            ));
        };
        let ecr = Ecr::for_registry(self.config, &location.account, &location.region);
        Ok(
            match ecr
                .image_status(&location.repository, &location.selector)
                .await?
            {
                ImageLookup::NotAllowed(_) => Verdict::Denied("ecr:DescribeImages".into()),
                ImageLookup::Missing => Verdict::Missing(format!(
                    "repository {} in registry {} ({}) has no {}",
                    location.repository, location.account, location.region, location.selector
                )),
                // A pull-through cache's repository exists once something pulled through it
                // (Amazon ECR User Guide, "Sync an upstream registry with an Amazon ECR private
                // registry"): a revision may name one no task has pulled yet.
                ImageLookup::NoRepository => Verdict::NotChecked(format!(
                    "registry {} ({}) has no repository {}: if a pull-through cache rule covers it, ECR creates it on the first pull",
                    location.account, location.region, location.repository
                )),
                ImageLookup::Found(state) if state.status == "ARCHIVED" => Verdict::Invalid(
                    "archived in ECR: ECS cannot pull it until it is restored".into(),
                ),
                ImageLookup::Found(state) => Verdict::Ok(short_digest(&state.digest).to_string()),
            },
        )
    }

    /// The URI of the caller's ECR repository named like `reference`, a Docker Hub image (no
    /// registry host): the likely meaning of `image-and-tag=tutorial-site-registry:v2`.
    async fn ecr_namesake(&self, reference: &ImageReference) -> Option<String> {
        if reference.registry.is_some() {
            return None;
        }
        match Ecr::new(self.config, None)
            .find_repository(&reference.repository)
            .await
        {
            Ok(found) => found.map(|repository| repository.uri),
            Err(error) => {
                tracing::debug!(%error, "no ECR repository lookup for a Docker Hub image");
                None
            }
        }
    }
}

/// `sha256:` and the first 12 hex digits.
fn short_digest(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}
