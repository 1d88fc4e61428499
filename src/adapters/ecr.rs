//! Amazon ECR (private registries): authorization tokens, repositories and what tags they hold.
use super::recorder::Recorder;
use std::collections::BTreeMap;

use super::aws::AwsConfig;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageIdentifier, ImageScanningConfiguration,
    ImageTagMutability, ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
    ListImagesFilter, Tag, TagStatus,
};

use super::aws::ApiError;
use crate::domain::ecr_image::ImageSelector;
use crate::domain::ecr_token::{
    decode_token, private_registry_host, registry_from_proxy_endpoint, RegistryCredentials,
};
use crate::error::Error;
use crate::output;
use crate::secret::Secret;

/// A repository as deployer needs it.
#[derive(Debug, Clone)]
pub struct Repository {
    pub name: String,
    pub arn: String,
    pub uri: String,
    pub tag_mutability: String,
    pub exclusion_filters: Vec<String>,
}

/// An image ECR holds: its digest and `imageStatus` (ACTIVE, ARCHIVED or ACTIVATING).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageState {
    pub digest: String,
    pub status: String,
}

/// What ECR said about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLookup {
    Found(ImageState),
    /// The repository holds no such image.
    Missing,
    /// There is no such repository (a pull-through cache's is created on the first pull).
    NoRepository,
    /// The caller may not ask (no `ecr:DescribeImages`): the reason, to show.
    NotAllowed(String),
}

/// An image's manifest as ECR stores it: the exact bytes, their media type and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub digest: String,
    pub media_type: String,
    pub manifest: String,
}

/// What PutImage did with a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutImageResult {
    /// The tag now names the manifest.
    Tagged,
    /// ECR says the tag names this manifest already (ImageAlreadyExistsException).
    AlreadyThere,
}

/// Every manifest type BatchGetImage may answer, so an image index or manifest list comes back
/// as it is stored rather than refused or converted.
const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Settings for a repository that `--create-repo` creates.
#[derive(Debug, Clone)]
pub struct NewRepository {
    pub name: String,
    pub scan_on_push: bool,
    pub tag_mutability: String,
    pub exclusion_filters: Vec<String>,
    pub encryption_type: Option<String>,
    pub kms_key: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// An ECR client bound to one registry (the caller's account unless `registry_id` is given).
pub struct Ecr {
    client: aws_sdk_ecr::Client,
    registry_id: Option<String>,
    region: Option<String>,
}

impl Ecr {
    pub fn new(config: &AwsConfig, registry_id: Option<String>) -> Self {
        Ecr {
            client: aws_sdk_ecr::Client::from_conf(
                aws_sdk_ecr::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
            registry_id,
            region: config.sdk().region().map(|region| region.to_string()),
        }
    }

    /// A client for the registry of `account` in `region` (an image reference may name another
    /// account's or region's registry than the caller's).
    pub fn for_registry(config: &AwsConfig, account: &str, region: &str) -> Self {
        let sdk = config
            .sdk()
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Ecr {
            client: aws_sdk_ecr::Client::from_conf(
                aws_sdk_ecr::config::Builder::from(&sdk)
                    .interceptor(Recorder)
                    .build(),
            ),
            registry_id: Some(account.to_string()),
            region: Some(region.to_string()),
        }
    }

    /// Whether the repository holds the image (`tag` or `sha256:` digest) and in which state.
    pub async fn image_status(
        &self,
        repository: &str,
        image: &ImageSelector,
    ) -> Result<ImageLookup, Error> {
        let id = match image {
            ImageSelector::Tag(tag) => ImageIdentifier::builder().image_tag(tag),
            ImageSelector::Digest(digest) => ImageIdentifier::builder().image_digest(digest),
        }
        .build();
        let answer = self
            .client
            .describe_images()
            .set_registry_id(self.registry_id.clone())
            .repository_name(repository)
            .image_ids(id)
            .send()
            .await;
        match answer {
            Ok(answer) => {
                Ok(answer
                    .image_details()
                    .first()
                    .map_or(ImageLookup::Missing, |detail| {
                        ImageLookup::Found(ImageState {
                            digest: detail.image_digest().unwrap_or_default().to_string(),
                            // Images from before archiving existed carry no status: they are active.
                            status: detail.image_status().map_or_else(
                                || "ACTIVE".to_string(),
                                |status| status.as_str().to_string(),
                            ),
                        })
                    }))
            }
            Err(error) => {
                let error = ApiError::from_sdk("ecr:DescribeImages", error);
                if error.is_code("ImageNotFoundException") {
                    Ok(ImageLookup::Missing)
                } else if error.is_code("RepositoryNotFoundException") {
                    Ok(ImageLookup::NoRepository)
                } else if error.kind == super::aws::ApiErrorKind::AccessDenied {
                    Ok(ImageLookup::NotAllowed(error.to_string()))
                } else {
                    Err(error.into())
                }
            }
        }
    }

    /// Gets and decodes registry credentials. The token opens every registry the caller may
    /// use; the host is the one of `registry_id` when given, else the answer's `proxyEndpoint`.
    pub async fn authorization(&self) -> Result<RegistryCredentials, Error> {
        let answer = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:GetAuthorizationToken", e))?;
        let data = answer.authorization_data().first().ok_or_else(|| {
            Error::environment("ecr:GetAuthorizationToken answered no authorization data")
        })?;
        let token = data
            .authorization_token()
            .ok_or_else(|| Error::environment("ecr:GetAuthorizationToken answered no token"))?;
        output::register_secret(&Secret::new(token));
        let (username, password) = decode_token(token).map_err(|e| {
            Error::environment(format!(
                "ecr:GetAuthorizationToken answered a token deployer cannot use: {e}"
            ))
        })?;
        output::register_secret(&password);
        let registry = match (&self.registry_id, &self.region) {
            (Some(id), Some(region)) => private_registry_host(id, region),
            _ => data
                .proxy_endpoint()
                .map(registry_from_proxy_endpoint)
                .ok_or_else(|| {
                    Error::environment("ecr:GetAuthorizationToken answered no proxyEndpoint")
                })?,
        };
        Ok(RegistryCredentials {
            username,
            password,
            registry,
        })
    }

    /// The repository, or `None` when it does not exist.
    pub async fn find_repository(&self, name: &str) -> Result<Option<Repository>, Error> {
        let answer = self
            .client
            .describe_repositories()
            .set_registry_id(self.registry_id.clone())
            .repository_names(name)
            .send()
            .await;
        match answer {
            Ok(answer) => Ok(answer.repositories().first().map(repository)),
            Err(error) => {
                let error = ApiError::from_sdk("ecr:DescribeRepositories", error);
                if error.is_code("RepositoryNotFoundException") {
                    Ok(None)
                } else {
                    Err(error.into())
                }
            }
        }
    }

    pub async fn create_repository(&self, new: &NewRepository) -> Result<Repository, Error> {
        let exclusion_filters = new
            .exclusion_filters
            .iter()
            .map(|filter| {
                ImageTagMutabilityExclusionFilter::builder()
                    .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                    .filter(filter)
                    .build()
                    .map_err(|e| {
                        Error::usage(format!("tag mutability exclusion filter {filter:?}: {e}"))
                    })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let encryption = match &new.encryption_type {
            Some(kind) => Some(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::from(kind.as_str()))
                    .set_kms_key(new.kms_key.clone())
                    .build()
                    .map_err(|e| Error::usage(format!("--repo-encryption-type {kind}: {e}")))?,
            ),
            None => None,
        };
        let tags = new
            .tags
            .iter()
            .map(|(key, value)| {
                Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .map_err(|e| Error::usage(format!("--repo-tags {key}: {e}")))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let answer = self
            .client
            .create_repository()
            .set_registry_id(self.registry_id.clone())
            .repository_name(&new.name)
            .image_tag_mutability(ImageTagMutability::from(new.tag_mutability.as_str()))
            .set_image_tag_mutability_exclusion_filters(
                (!exclusion_filters.is_empty()).then_some(exclusion_filters),
            )
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(new.scan_on_push)
                    .build(),
            )
            .set_encryption_configuration(encryption)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:CreateRepository", e))?;
        answer
            .repository()
            .map(repository)
            .ok_or_else(|| Error::environment("ecr:CreateRepository answered no repository"))
    }

    pub async fn set_repository_policy(&self, name: &str, policy: &str) -> Result<(), Error> {
        self.client
            .set_repository_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .policy_text(policy)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:SetRepositoryPolicy", e))?;
        Ok(())
    }

    pub async fn put_lifecycle_policy(&self, name: &str, policy: &str) -> Result<(), Error> {
        self.client
            .put_lifecycle_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .lifecycle_policy_text(policy)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:PutLifecyclePolicy", e))?;
        Ok(())
    }

    /// Every tag in the repository with the manifest digest it points at, over all pages.
    pub async fn tagged_digests(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        let mut pages = self
            .client
            .list_images()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .filter(
                ListImagesFilter::builder()
                    .tag_status(TagStatus::Tagged)
                    .build(),
            )
            .into_paginator()
            .send();
        let mut tags = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ApiError::from_sdk("ecr:ListImages", e))?;
            for image in page.image_ids() {
                if let (Some(tag), Some(digest)) = (image.image_tag(), image.image_digest()) {
                    tags.insert(tag.to_string(), digest.to_string());
                }
            }
        }
        Ok(tags)
    }

    /// The image manifests behind `tags` (tags that do not exist are left out).
    pub async fn manifests(
        &self,
        name: &str,
        tags: &[String],
    ) -> Result<BTreeMap<String, String>, Error> {
        let ids = tags
            .iter()
            .map(|tag| ImageIdentifier::builder().image_tag(tag).build());
        self.batch_manifests(name, ids.collect(), None, |id| id.image_tag())
            .await
    }

    /// The manifests (image manifests or indexes) of these digests, keyed by digest; digests
    /// the repository does not hold are left out.
    pub async fn manifests_by_digest(
        &self,
        name: &str,
        digests: &[String],
    ) -> Result<BTreeMap<String, String>, Error> {
        let ids = digests
            .iter()
            .map(|digest| ImageIdentifier::builder().image_digest(digest).build());
        let every_type = MANIFEST_MEDIA_TYPES.iter().map(|t| t.to_string()).collect();
        self.batch_manifests(name, ids.collect(), Some(every_type), |id| {
            id.image_digest()
        })
        .await
    }

    /// BatchGetImage of `ids`, each manifest keyed by what `key` reads of its image ID.
    async fn batch_manifests(
        &self,
        name: &str,
        ids: Vec<ImageIdentifier>,
        accepted_media_types: Option<Vec<String>>,
        key: fn(&ImageIdentifier) -> Option<&str>,
    ) -> Result<BTreeMap<String, String>, Error> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let answer = self
            .client
            .batch_get_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .set_image_ids(Some(ids))
            .set_accepted_media_types(accepted_media_types)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:BatchGetImage", e))?;
        Ok(answer
            .images()
            .iter()
            .filter_map(|image| {
                let key = key(image.image_id()?)?;
                Some((key.to_string(), image.image_manifest()?.to_string()))
            })
            .collect())
    }

    /// The manifest `tag` names, exactly as stored (index or manifest), or `None` when the
    /// repository has no such tag.
    pub async fn stored_manifest(
        &self,
        name: &str,
        tag: &str,
    ) -> Result<Option<StoredManifest>, Error> {
        let answer = self
            .client
            .batch_get_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .set_accepted_media_types(Some(
                MANIFEST_MEDIA_TYPES.iter().map(|t| t.to_string()).collect(),
            ))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:BatchGetImage", e))?;
        if let Some(failure) = answer.failures().first() {
            let code = failure
                .failure_code()
                .map(|code| code.as_str().to_string())
                .unwrap_or_default();
            if code == "ImageNotFound" || code == "ImageTagDoesNotMatchDigest" {
                return Ok(None);
            }
            return Err(Error::environment(format!(
                "ecr:BatchGetImage could not read {name}:{tag}: {code} {}",
                failure.failure_reason().unwrap_or_default()
            )));
        }
        let Some(image) = answer.images().first() else {
            return Ok(None);
        };
        let manifest = image.image_manifest().ok_or_else(|| {
            Error::environment(format!(
                "ecr:BatchGetImage answered no manifest for {name}:{tag}"
            ))
        })?;
        let digest = image
            .image_id()
            .and_then(|id| id.image_digest())
            .ok_or_else(|| {
                Error::environment(format!(
                    "ecr:BatchGetImage answered no digest for {name}:{tag}"
                ))
            })?;
        // ECR names the media type; older answers leave it to the manifest's own field.
        let media_type = image
            .image_manifest_media_type()
            .map(str::to_string)
            .or_else(|| {
                serde_json::from_str::<serde_json::Value>(manifest)
                    .ok()?
                    .get("mediaType")?
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_default();
        Ok(Some(StoredManifest {
            digest: digest.to_string(),
            media_type,
            manifest: manifest.to_string(),
        }))
    }

    /// Puts `manifest` under `tag` (ECR checks the bytes against the digest): no layer moves.
    pub async fn put_image(
        &self,
        name: &str,
        tag: &str,
        manifest: &StoredManifest,
    ) -> Result<PutImageResult, Error> {
        let answer = self
            .client
            .put_image()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .image_tag(tag)
            .image_manifest(&manifest.manifest)
            .set_image_manifest_media_type(
                (!manifest.media_type.is_empty()).then(|| manifest.media_type.clone()),
            )
            .image_digest(&manifest.digest)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(PutImageResult::Tagged),
            Err(error) => {
                let error = ApiError::from_sdk("ecr:PutImage", error);
                if error.is_code("ImageAlreadyExistsException") {
                    Ok(PutImageResult::AlreadyThere)
                } else {
                    Err(error.into())
                }
            }
        }
    }

    /// Adds (or overwrites by key) resource tags of the repository `arn`.
    pub async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<(), Error> {
        let tags = tags
            .iter()
            .map(|(key, value)| {
                Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .map_err(|e| Error::usage(format!("--repo-tags {key}: {e}")))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr:TagResource", e))?;
        Ok(())
    }
}

fn repository(repository: &aws_sdk_ecr::types::Repository) -> Repository {
    Repository {
        name: repository.repository_name().unwrap_or_default().to_string(),
        arn: repository.repository_arn().unwrap_or_default().to_string(),
        uri: repository.repository_uri().unwrap_or_default().to_string(),
        tag_mutability: repository
            .image_tag_mutability()
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "MUTABLE".into()),
        exclusion_filters: repository
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|filter| filter.filter().to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
    use aws_sdk_ecr::operation::put_image::PutImageError;
    use aws_sdk_ecr::types::error::ImageAlreadyExistsException;
    use aws_sdk_ecr::types::{Image, ImageFailure, ImageFailureCode};
    use aws_sdk_ecr::Client;
    use aws_smithy_mocks::{mock, mock_client};

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    const DIGEST: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

    fn ecr(client: Client) -> Ecr {
        Ecr {
            client,
            registry_id: None,
            region: Some("eu-west-1".to_string()),
        }
    }

    #[tokio::test]
    async fn an_index_is_read_as_stored_and_a_missing_tag_is_none() {
        let found = mock!(Client::batch_get_image)
            .match_requests(|request| {
                request.image_ids()[0].image_tag() == Some("abc123")
                    && request
                        .accepted_media_types()
                        .contains(&"application/vnd.oci.image.index.v1+json".to_string())
            })
            .then_output(|| {
                // No imageManifestMediaType: the manifest's own field names it.
                BatchGetImageOutput::builder()
                    .images(
                        Image::builder()
                            .image_id(
                                ImageIdentifier::builder()
                                    .image_tag("abc123")
                                    .image_digest(DIGEST)
                                    .build(),
                            )
                            .image_manifest(INDEX)
                            .build(),
                    )
                    .build()
            });
        let missing = mock!(Client::batch_get_image).then_output(|| {
            BatchGetImageOutput::builder()
                .failures(
                    ImageFailure::builder()
                        .image_id(ImageIdentifier::builder().image_tag("v9").build())
                        .failure_code(ImageFailureCode::ImageNotFound)
                        .failure_reason("Requested image not found")
                        .build(),
                )
                .build()
        });
        let registry = ecr(mock_client!(aws_sdk_ecr, [&found, &missing]));
        let stored = registry
            .stored_manifest("tutorial-site", "abc123")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.media_type, "application/vnd.oci.image.index.v1+json");
        assert_eq!(stored.digest, DIGEST);
        assert_eq!(stored.manifest, INDEX);
        assert_eq!(
            registry
                .stored_manifest("tutorial-site", "v9")
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn put_image_sends_the_bytes_with_type_and_digest_and_knows_a_tag_already_there() {
        let stored = StoredManifest {
            digest: DIGEST.to_string(),
            media_type: "application/vnd.oci.image.index.v1+json".to_string(),
            manifest: INDEX.to_string(),
        };
        let already = mock!(Client::put_image)
            .match_requests(|request| {
                request.image_tag() == Some("production")
                    && request.image_manifest() == Some(INDEX)
                    && request.image_manifest_media_type()
                        == Some("application/vnd.oci.image.index.v1+json")
                    && request.image_digest() == Some(DIGEST)
            })
            .then_error(|| {
                PutImageError::ImageAlreadyExistsException(
                    ImageAlreadyExistsException::builder()
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("ImageAlreadyExistsException")
                                .build(),
                        )
                        .build(),
                )
            });
        let registry = ecr(mock_client!(aws_sdk_ecr, [&already]));
        assert_eq!(
            registry
                .put_image("tutorial-site", "production", &stored)
                .await
                .unwrap(),
            PutImageResult::AlreadyThere
        );
    }
}
