//! Amazon ECR Public (`public.ecr.aws`), whose API lives in us-east-1 whatever the caller's region.
use super::recorder::Recorder;
use std::collections::BTreeMap;

use aws_config::Region;

use super::aws::AwsConfig;
use aws_sdk_ecrpublic::types::Tag;

use super::aws::ApiError;
use super::ecr::{NewRepository, Repository};
use crate::domain::ecr_token::{decode_token, RegistryCredentials};
use crate::error::Error;
use crate::output;
use crate::secret::Secret;

/// The registry host of every ECR Public repository.
pub const PUBLIC_REGISTRY: &str = "public.ecr.aws";
const PUBLIC_API_REGION: &str = "us-east-1";

pub struct EcrPublic {
    client: aws_sdk_ecrpublic::Client,
    registry_id: Option<String>,
}

impl EcrPublic {
    pub fn new(config: &AwsConfig, registry_id: Option<String>) -> Self {
        let config = config
            .sdk()
            .to_builder()
            .region(Region::new(PUBLIC_API_REGION))
            .build();
        Self::from_client(
            aws_sdk_ecrpublic::Client::from_conf(
                aws_sdk_ecrpublic::config::Builder::from(&config)
                    .interceptor(Recorder)
                    .build(),
            ),
            registry_id,
        )
    }

    pub fn from_client(client: aws_sdk_ecrpublic::Client, registry_id: Option<String>) -> Self {
        EcrPublic {
            client,
            registry_id,
        }
    }

    pub async fn authorization(&self) -> Result<RegistryCredentials, Error> {
        let answer = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr-public:GetAuthorizationToken", e))?;
        let token = answer
            .authorization_data()
            .and_then(|data| data.authorization_token())
            .ok_or_else(|| {
                Error::environment("ecr-public:GetAuthorizationToken answered no token")
            })?;
        output::register_secret(&Secret::new(token));
        let (username, password) = decode_token(token).map_err(|e| {
            Error::environment(format!(
                "ecr-public:GetAuthorizationToken answered a token deployer cannot use: {e}"
            ))
        })?;
        output::register_secret(&password);
        Ok(RegistryCredentials {
            username,
            password,
            registry: PUBLIC_REGISTRY.to_string(),
        })
    }

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
                let error = ApiError::from_sdk("ecr-public:DescribeRepositories", error);
                if error.is_code("RepositoryNotFoundException") {
                    Ok(None)
                } else {
                    Err(error.into())
                }
            }
        }
    }

    pub async fn create_repository(&self, new: &NewRepository) -> Result<Repository, Error> {
        let tags = new
            .tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Vec<_>>();
        let answer = self
            .client
            .create_repository()
            .repository_name(&new.name)
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr-public:CreateRepository", e))?;
        answer
            .repository()
            .map(repository)
            .ok_or_else(|| Error::environment("ecr-public:CreateRepository answered no repository"))
    }

    pub async fn set_repository_policy(&self, name: &str, policy: &str) -> Result<(), Error> {
        self.client
            .set_repository_policy()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .policy_text(policy)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr-public:SetRepositoryPolicy", e))?;
        Ok(())
    }

    /// Adds (or overwrites by key) resource tags of the repository `arn`.
    pub async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<(), Error> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(
                tags.iter()
                    .map(|(key, value)| Tag::builder().key(key).value(value).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("ecr-public:TagResource", e))?;
        Ok(())
    }

    /// Every tag with its manifest digest, over all pages.
    pub async fn tagged_digests(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        let mut pages = self
            .client
            .describe_image_tags()
            .set_registry_id(self.registry_id.clone())
            .repository_name(name)
            .into_paginator()
            .send();
        let mut tags = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ApiError::from_sdk("ecr-public:DescribeImageTags", e))?;
            for detail in page.image_tag_details() {
                let digest = detail.image_detail().and_then(|image| image.image_digest());
                if let (Some(tag), Some(digest)) = (detail.image_tag(), digest) {
                    tags.insert(tag.to_string(), digest.to_string());
                }
            }
        }
        Ok(tags)
    }
}

fn repository(repository: &aws_sdk_ecrpublic::types::Repository) -> Repository {
    Repository {
        name: repository.repository_name().unwrap_or_default().to_string(),
        arn: repository.repository_arn().unwrap_or_default().to_string(),
        uri: repository.repository_uri().unwrap_or_default().to_string(),
        // ECR Public has no immutable tags.
        tag_mutability: "MUTABLE".to_string(),
        exclusion_filters: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecrpublic::operation::describe_image_tags::DescribeImageTagsOutput;
    use aws_sdk_ecrpublic::operation::describe_repositories::{
        DescribeRepositoriesError, DescribeRepositoriesOutput,
    };
    use aws_sdk_ecrpublic::operation::get_authorization_token::GetAuthorizationTokenOutput;
    use aws_sdk_ecrpublic::types::error::RepositoryNotFoundException;
    use aws_sdk_ecrpublic::types::{AuthorizationData, ImageTagDetail, ReferencedImageDetail};
    use aws_sdk_ecrpublic::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn tag(tag: &str, digest: &str) -> ImageTagDetail {
        ImageTagDetail::builder()
            .image_tag(tag)
            .image_detail(
                ReferencedImageDetail::builder()
                    .image_digest(digest)
                    .build(),
            )
            .build()
    }

    #[tokio::test]
    async fn credentials_are_for_public_ecr_aws() {
        let rule = mock!(Client::get_authorization_token).then_output(|| {
            GetAuthorizationTokenOutput::builder()
                .authorization_data(
                    AuthorizationData::builder()
                        .authorization_token("QVdTOnB1YmxpYy1wYXNzd29yZA==")
                        .build(),
                )
                .build()
        });
        let registry = EcrPublic::from_client(mock_client!(aws_sdk_ecrpublic, [&rule]), None);
        let credentials = registry.authorization().await.unwrap();
        assert_eq!(credentials.registry, "public.ecr.aws");
        assert_eq!(credentials.username, "AWS");
        assert_eq!(credentials.password.expose(), "public-password");
    }

    #[tokio::test]
    async fn tags_are_read_from_every_page() {
        let rule = mock!(Client::describe_image_tags)
            .sequence()
            .output(|| {
                DescribeImageTagsOutput::builder()
                    .image_tag_details(tag("v1", "sha256:1"))
                    .next_token("page-2")
                    .build()
            })
            .output(|| {
                DescribeImageTagsOutput::builder()
                    .image_tag_details(tag("latest", "sha256:2"))
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_ecrpublic, RuleMode::Sequential, [&rule]);
        let tags = EcrPublic::from_client(client, None)
            .tagged_digests("tutorial-site")
            .await
            .unwrap();
        assert_eq!(tags.get("v1").map(String::as_str), Some("sha256:1"));
        assert_eq!(tags.get("latest").map(String::as_str), Some("sha256:2"));
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_missing_repository_is_none_and_a_found_one_keeps_its_alias() {
        let missing = mock!(Client::describe_repositories)
            .match_requests(|request| request.repository_names() == ["missing".to_string()])
            .then_error(|| {
                DescribeRepositoriesError::RepositoryNotFoundException(
                    RepositoryNotFoundException::builder()
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("RepositoryNotFoundException")
                                .build(),
                        )
                        .build(),
                )
            });
        let found = mock!(Client::describe_repositories).then_output(|| {
            DescribeRepositoriesOutput::builder()
                .repositories(
                    aws_sdk_ecrpublic::types::Repository::builder()
                        .repository_name("tutorial-site")
                        .repository_uri("public.ecr.aws/a1b2c3d4/tutorial-site")
                        .build(),
                )
                .build()
        });
        let registry =
            EcrPublic::from_client(mock_client!(aws_sdk_ecrpublic, [&missing, &found]), None);
        assert!(registry.find_repository("missing").await.unwrap().is_none());
        let repository = registry
            .find_repository("tutorial-site")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(repository.uri, "public.ecr.aws/a1b2c3d4/tutorial-site");
    }
}
