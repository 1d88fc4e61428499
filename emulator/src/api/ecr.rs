//! The ECR API over the real registry: credentials are the registry's, and what ECR reports
//! about images is what the registry holds (read through its HTTP API), so a push by the Docker
//! engine is visible to ListImages and BatchGetImage as on AWS.
use base64::Engine;
use serde_json::{json, Value};

use crate::api::Context;
use crate::protocol::{required, Answer, ApiError};
use crate::state::{now, Repository};

const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.index.v1+json";

pub async fn handle(context: &Context, operation: &str, input: &Value) -> Answer {
    match operation {
        "GetAuthorizationToken" => Ok(authorization(context)),
        "CreateRepository" => create_repository(context, input).await,
        "DescribeRepositories" => describe_repositories(context, input).await,
        "SetRepositoryPolicy" | "PutLifecyclePolicy" => {
            let name = required(input, "repositoryName")?.to_string();
            existing(context, &name).await?;
            Ok(json!({"repositoryName": name, "registryId": context.settings.account}))
        }
        "TagResource" => {
            // Accepted for a repository that exists; the emulator keeps no resource tags.
            let arn = required(input, "resourceArn")?;
            let name = arn
                .rsplit_once(":repository/")
                .map_or(arn, |(_, name)| name);
            existing(context, name).await?;
            Ok(json!({}))
        }
        "ListImages" => list_images(context, input).await,
        "DescribeImages" => describe_images(context, input).await,
        "BatchGetImage" => batch_get_image(context, input).await,
        "PutImage" => put_image(context, input).await,
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("the emulator does not implement ECR {other}"),
        )),
    }
}

/// ECR Public (`SpencerFrontendService`): only its token, for the registry the emulator fronts.
pub async fn handle_public(context: &Context, operation: &str) -> Answer {
    match operation {
        "GetAuthorizationToken" => {
            let data = authorization(context)["authorizationData"][0].clone();
            Ok(json!({"authorizationData": {
                "authorizationToken": data["authorizationToken"],
                "expiresAt": data["expiresAt"],
            }}))
        }
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("the emulator does not implement ECR Public {other}"),
        )),
    }
}

fn authorization(context: &Context) -> Value {
    let settings = &context.settings;
    let token = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        settings.registry_user, settings.registry_password
    ));
    json!({"authorizationData": [{
        "authorizationToken": token,
        "expiresAt": now() + 12.0 * 3600.0,
        "proxyEndpoint": format!("http://{}", settings.registry),
    }]})
}

fn repository_json(context: &Context, repository: &Repository) -> Value {
    let settings = &context.settings;
    json!({
        "repositoryArn": format!("arn:aws:ecr:{}:{}:repository/{}", settings.region, settings.account, repository.name),
        "registryId": settings.account,
        "repositoryName": repository.name,
        "repositoryUri": format!("{}/{}", settings.registry, repository.name),
        "createdAt": repository.created_at,
        "imageTagMutability": repository.tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": false},
        "encryptionConfiguration": {"encryptionType": "AES256"},
    })
}

async fn existing(context: &Context, name: &str) -> Result<Repository, ApiError> {
    context
        .state
        .lock()
        .await
        .repositories
        .get(name)
        .cloned()
        .ok_or_else(|| {
            ApiError::client(
                "RepositoryNotFoundException",
                format!(
                    "The repository with name '{name}' does not exist in the registry with id '{}'",
                    context.settings.account
                ),
            )
        })
}

async fn create_repository(context: &Context, input: &Value) -> Answer {
    let name = required(input, "repositoryName")?.to_string();
    let mut state = context.state.lock().await;
    if state.repositories.contains_key(&name) {
        return Err(ApiError::client(
            "RepositoryAlreadyExistsException",
            format!(
                "The repository with name '{name}' already exists in the registry with id '{}'",
                context.settings.account
            ),
        ));
    }
    let repository = Repository {
        name: name.clone(),
        tag_mutability: input
            .get("imageTagMutability")
            .and_then(Value::as_str)
            .unwrap_or("MUTABLE")
            .to_string(),
        created_at: now(),
    };
    state.repositories.insert(name, repository.clone());
    Ok(json!({"repository": repository_json(context, &repository)}))
}

async fn describe_repositories(context: &Context, input: &Value) -> Answer {
    let names: Option<Vec<String>> =
        input
            .get("repositoryNames")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
    let mut found = Vec::new();
    match names {
        Some(names) => {
            for name in names {
                found.push(repository_json(context, &existing(context, &name).await?));
            }
        }
        None => {
            let state = context.state.lock().await;
            found.extend(
                state
                    .repositories
                    .values()
                    .map(|r| repository_json(context, r)),
            );
        }
    }
    Ok(json!({"repositories": found}))
}

/// A GET on the registry's API with its credentials: (status, body, digest, media type).
async fn registry_get(
    context: &Context,
    path: String,
) -> Result<(u16, String, Option<String>, Option<String>), ApiError> {
    let settings = context.settings.clone();
    tokio::task::spawn_blocking(move || {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            settings.registry_user, settings.registry_password
        ));
        let answer = ureq::get(&format!("http://{}/v2/{path}", settings.registry))
            .set("Authorization", &format!("Basic {basic}"))
            .set("Accept", MANIFEST_TYPES)
            .call();
        let response = match answer {
            Ok(response) => response,
            Err(ureq::Error::Status(status, response)) => {
                return Ok((
                    status,
                    response.into_string().unwrap_or_default(),
                    None,
                    None,
                ))
            }
            Err(error) => {
                return Err(ApiError {
                    code: "ServerException",
                    message: format!("the registry cannot be reached: {error}"),
                    status: hyper::StatusCode::INTERNAL_SERVER_ERROR,
                })
            }
        };
        let digest = response.header("Docker-Content-Digest").map(str::to_string);
        let media_type = response.header("Content-Type").map(str::to_string);
        Ok((
            200,
            response.into_string().unwrap_or_default(),
            digest,
            media_type,
        ))
    })
    .await
    .unwrap_or_else(|e| {
        Err(ApiError {
            code: "ServerException",
            message: e.to_string(),
            status: hyper::StatusCode::INTERNAL_SERVER_ERROR,
        })
    })
}

/// Every tag of the repository with its manifest digest, manifest and media type.
async fn images(
    context: &Context,
    name: &str,
) -> Result<Vec<(String, String, String, String)>, ApiError> {
    existing(context, name).await?;
    let (status, body, _, _) = registry_get(context, format!("{name}/tags/list")).await?;
    if status == 404 {
        return Ok(Vec::new());
    }
    let tags: Vec<String> = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| {
            v["tags"].as_array().map(|list| {
                list.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default();
    let mut images = Vec::new();
    for tag in tags {
        let (status, manifest, digest, media_type) =
            registry_get(context, format!("{name}/manifests/{tag}")).await?;
        if let (200, Some(digest)) = (status, digest) {
            images.push((tag, digest, manifest, media_type.unwrap_or_default()));
        }
    }
    Ok(images)
}

async fn list_images(context: &Context, input: &Value) -> Answer {
    let name = required(input, "repositoryName")?;
    let ids: Vec<Value> = images(context, name)
        .await?
        .into_iter()
        .map(|(tag, digest, _, _)| json!({"imageTag": tag, "imageDigest": digest}))
        .collect();
    Ok(json!({"imageIds": ids}))
}

async fn describe_images(context: &Context, input: &Value) -> Answer {
    let name = required(input, "repositoryName")?;
    let mut by_digest: Vec<(String, Vec<String>)> = Vec::new();
    for (tag, digest, _, _) in images(context, name).await? {
        match by_digest.iter_mut().find(|(d, _)| *d == digest) {
            Some((_, tags)) => tags.push(tag),
            None => by_digest.push((digest, vec![tag])),
        }
    }
    let details: Vec<Value> = by_digest
        .into_iter()
        .map(|(digest, tags)| {
            json!({"registryId": context.settings.account, "repositoryName": name, "imageDigest": digest, "imageTags": tags})
        })
        .collect();
    Ok(json!({"imageDetails": details}))
}

async fn batch_get_image(context: &Context, input: &Value) -> Answer {
    let name = required(input, "repositoryName")?;
    let all = images(context, name).await?;
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for id in input
        .get("imageIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let tag = id.get("imageTag").and_then(Value::as_str);
        let digest = id.get("imageDigest").and_then(Value::as_str);
        match all.iter().find(|(t, d, _, _)| Some(t.as_str()) == tag || Some(d.as_str()) == digest) {
            Some((t, d, manifest, media_type)) => found.push(json!({
                "registryId": context.settings.account,
                "repositoryName": name,
                "imageId": {"imageTag": t, "imageDigest": d},
                "imageManifest": manifest,
                "imageManifestMediaType": media_type,
            })),
            None => failures.push(json!({"imageId": id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"})),
        }
    }
    Ok(json!({"images": found, "failures": failures}))
}

/// PutImage as ECR does it: the manifest bytes are stored under the tag in the registry (no
/// layer moves); a tag holding these bytes already is ImageAlreadyExistsException, an IMMUTABLE
/// tag holding others is ImageTagAlreadyExistsException, a wrong imageDigest is refused.
async fn put_image(context: &Context, input: &Value) -> Answer {
    use sha2::Digest;
    let name = required(input, "repositoryName")?.to_string();
    let manifest = required(input, "imageManifest")?.to_string();
    let tag = required(input, "imageTag")?.to_string();
    let repository = existing(context, &name).await?;
    let media_type = match input.get("imageManifestMediaType").and_then(Value::as_str) {
        Some(media_type) => media_type.to_string(),
        None => serde_json::from_str::<Value>(&manifest)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            .ok_or_else(|| {
                ApiError::client(
                    "InvalidParameterException",
                    "image manifest mediatype not provided in manifest or parameter",
                )
            })?,
    };
    let hex: String = sha2::Sha256::digest(manifest.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let digest = format!("sha256:{hex}");
    if let Some(given) = input.get("imageDigest").and_then(Value::as_str) {
        if given != digest {
            return Err(ApiError::client(
                "ImageDigestDoesNotMatchException",
                format!("The imageDigest {given} does not match the manifest's digest {digest}"),
            ));
        }
    }
    let held = images(context, &name)
        .await?
        .into_iter()
        .find(|(t, _, _, _)| *t == tag)
        .map(|(_, d, _, _)| d);
    match held {
        Some(held) if held == digest => {
            return Err(ApiError::client(
                "ImageAlreadyExistsException",
                format!("Image with digest '{digest}' and tag '{tag}' already exists in the repository with name '{name}'"),
            ))
        }
        Some(_) if repository.tag_mutability == "IMMUTABLE" => {
            return Err(ApiError::client(
                "ImageTagAlreadyExistsException",
                format!("The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."),
            ))
        }
        _ => {}
    }
    registry_put_manifest(context, &name, &tag, &media_type, &manifest).await?;
    Ok(json!({"image": {
        "registryId": context.settings.account,
        "repositoryName": name,
        "imageId": {"imageTag": tag, "imageDigest": digest},
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
    }}))
}

/// A manifest PUT on the registry's API with its credentials.
async fn registry_put_manifest(
    context: &Context,
    name: &str,
    tag: &str,
    media_type: &str,
    manifest: &str,
) -> Result<(), ApiError> {
    let settings = context.settings.clone();
    let url = format!("http://{}/v2/{name}/manifests/{tag}", settings.registry);
    let (media_type, manifest) = (media_type.to_string(), manifest.to_string());
    tokio::task::spawn_blocking(move || {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            settings.registry_user, settings.registry_password
        ));
        match ureq::put(&url)
            .set("Authorization", &format!("Basic {basic}"))
            .set("Content-Type", &media_type)
            .send_string(&manifest)
        {
            Ok(_) => Ok(()),
            // What the registry refuses (a manifest naming blobs it lacks) ECR refuses too.
            Err(ureq::Error::Status(status, response)) if status < 500 => Err(ApiError::client(
                "InvalidParameterException",
                format!(
                    "the registry refused the manifest ({status}): {}",
                    response.into_string().unwrap_or_default()
                ),
            )),
            Err(error) => Err(ApiError {
                code: "ServerException",
                message: format!("the registry cannot be reached: {error}"),
                status: hyper::StatusCode::INTERNAL_SERVER_ERROR,
            }),
        }
    })
    .await
    .unwrap_or_else(|e| {
        Err(ApiError {
            code: "ServerException",
            message: e.to_string(),
            status: hyper::StatusCode::INTERNAL_SERVER_ERROR,
        })
    })
}
