//! Whether a tag in a registry holds the same image as a local one, decided on registry digests:
//! the digests a local image is known by, and the config digest of the manifest a tag holds (the
//! local image ID in the classic image store). Right for the classic and containerd image stores,
//! for manifests and indexes alike.
/// The registry digests a local image is known by: the digest of each of its `RepoDigests`
/// (`name@sha256:…`, whatever the repository: a digest names the content), and its ID, which
/// with the containerd image store is the digest of the manifest or index a push stores.
pub fn local_registry_digests(image_id: &str, repo_digests: &[String]) -> Vec<String> {
    repo_digests
        .iter()
        .filter_map(|reference| reference.rsplit_once('@'))
        .map(|(_, digest)| digest.to_string())
        .chain(std::iter::once(image_id.to_string()))
        .collect()
}

/// The `config.digest` of an image manifest: equal to the local image ID for the same image
/// in the classic image store. An index has none.
pub fn manifest_config_digest(manifest: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    value
        .get("config")?
        .get("digest")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_digest_of_a_schema2_manifest() {
        let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,
            "digest":"sha256:8e031288b93e86d620af3b7bd91a46f72b188d7464b4a85f328209f7e16f7928"},"layers":[]}"#;
        assert_eq!(
            manifest_config_digest(manifest).as_deref(),
            Some("sha256:8e031288b93e86d620af3b7bd91a46f72b188d7464b4a85f328209f7e16f7928")
        );
        assert_eq!(manifest_config_digest("not json"), None);
    }

    #[test]
    fn registry_digests_of_a_local_image_in_either_image_store() {
        let manifest = format!("sha256:{}", "4".repeat(64));
        let index = format!("sha256:{}", "1".repeat(64));
        let config = format!("sha256:{}", "c".repeat(64));
        // Classic store: the ID is the config digest; the pushed manifest is in RepoDigests,
        // under whichever repository it went to.
        let classic = local_registry_digests(
            &config,
            &[
                format!("127.0.0.1:5000/tutorial-site-registry@{manifest}"),
                format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry@{manifest}"),
            ],
        );
        assert!(classic.contains(&manifest));
        assert!(!classic.contains(&index));
        // containerd store: the ID is the index digest, which is what ECR stores for the tag.
        let containerd = local_registry_digests(&index, &[]);
        assert_eq!(containerd, [index]);
        // Never pushed nor pulled: nothing but the ID, which no registry digest equals.
        assert_eq!(local_registry_digests(&config, &[]), [config]);
    }

    #[test]
    fn an_index_has_no_config_digest() {
        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
            "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1054,
            "digest":"sha256:4444444444444444444444444444444444444444444444444444444444444444",
            "platform":{"architecture":"arm64","os":"linux"}}]}"#;
        assert_eq!(manifest_config_digest(index), None);
    }
}
