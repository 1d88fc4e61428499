//! Which images of a rendered task definition are new and live in ECR, so the plan can ask ECR
//! whether they exist before anything is registered: a mistyped tag otherwise surfaces minutes
//! into the rollout as `CannotPullContainerError`.
use serde_json::Value;

use super::ecr_token::parse_private_registry;
use super::reference::{ImageReference, InvalidReference};

/// Which image of a repository: by tag or by manifest digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSelector {
    Tag(String),
    Digest(String),
}

impl std::fmt::Display for ImageSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageSelector::Tag(tag) => write!(f, "tag {tag}"),
            ImageSelector::Digest(digest) => write!(f, "digest {digest}"),
        }
    }
}

/// An image reference into a private ECR registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub account: String,
    pub region: String,
    pub repository: String,
    pub selector: ImageSelector,
}

/// Where `image` lives: `Ok(None)` for any registry but private ECR (Docker Hub, ECR Public,
/// GHCR, a local registry). A digest wins over a tag, as it does when ECS pulls.
pub fn locate(image: &str) -> Result<Option<EcrImage>, InvalidReference> {
    let reference = ImageReference::parse(image)?;
    let Some((account, region)) = reference
        .registry
        .as_deref()
        .and_then(parse_private_registry)
    else {
        return Ok(None);
    };
    let selector = match (reference.digest, reference.tag) {
        (Some(digest), _) => ImageSelector::Digest(digest),
        (None, Some(tag)) => ImageSelector::Tag(tag),
        (None, None) => ImageSelector::Tag("latest".to_string()),
    };
    Ok(Some(EcrImage {
        account,
        region,
        repository: reference.repository,
        selector,
    }))
}

/// `(container, image)` for every container of the rendered RegisterTaskDefinition input whose
/// image differs from the one in the DescribeTaskDefinition answer it was rendered from (new
/// containers included).
pub fn changed_images(described: &Value, rendered: &Value) -> Vec<(String, String)> {
    let before = described
        .pointer("/taskDefinition/containerDefinitions")
        .and_then(Value::as_array);
    let image_before = |name: &str| {
        before
            .into_iter()
            .flatten()
            .find(|container| container["name"] == name)
            .and_then(|container| container["image"].as_str())
    };
    rendered["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| {
            let name = container["name"].as_str()?;
            let image = container["image"].as_str()?;
            (image_before(name) != Some(image)).then(|| (name.to_string(), image.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

    #[test]
    fn ecr_references_name_account_region_repository_and_image() {
        assert_eq!(
            locate(&format!("{ECR}/tutorial-site-registry:v2")).unwrap(),
            Some(EcrImage {
                account: "123456789012".into(),
                region: "eu-west-1".into(),
                repository: "tutorial-site-registry".into(),
                selector: ImageSelector::Tag("v2".into()),
            })
        );
        let digest = "sha256:6599e6fd98811a65d19283d82b35af3ef10d5db57b058ec5338cc2653a15dc43";
        let pinned = locate(&format!("{ECR}/team/site:v2@{digest}"))
            .unwrap()
            .unwrap();
        assert_eq!(pinned.repository, "team/site");
        assert_eq!(pinned.selector, ImageSelector::Digest(digest.into()));
        let untagged = locate(&format!("{ECR}/tutorial-site-registry"))
            .unwrap()
            .unwrap();
        assert_eq!(untagged.selector, ImageSelector::Tag("latest".into()));
    }

    #[test]
    fn other_registries_are_not_ecr() {
        for image in [
            "nginx:1.27",
            "public.ecr.aws/nginx/nginx:latest",
            "127.0.0.1:15000/tutorial-site-registry:v1",
            "ghcr.io/deployer-dev/deployer:0.1.0",
        ] {
            assert_eq!(locate(image).unwrap(), None, "{image}");
        }
        assert!(locate("Tutorial Site").is_err());
    }

    #[test]
    fn only_changed_images_are_listed() {
        let described = serde_json::json!({"taskDefinition": {"containerDefinitions": [
            {"name": "tutorial-site-app", "image": format!("{ECR}/tutorial-site-registry:v1")},
            {"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable"}
        ]}});
        let rendered = serde_json::json!({"containerDefinitions": [
            {"name": "tutorial-site-app", "image": format!("{ECR}/tutorial-site-registry:v2")},
            {"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable"},
            {"name": "sidecar", "image": "busybox:1.36"}
        ]});
        assert_eq!(
            changed_images(&described, &rendered),
            [
                (
                    "tutorial-site-app".to_string(),
                    format!("{ECR}/tutorial-site-registry:v2")
                ),
                ("sidecar".to_string(), "busybox:1.36".to_string())
            ]
        );
    }
}
