//! The values users pass to a build and push: tags, `--build-arg`, `--label`, `--repo-tags`,
//! each checked before anything is built or any AWS resource is touched.
use std::collections::BTreeMap;

use super::reference::validate_tag;

/// Splits `--tag` values (repeated and/or comma-separated) into distinct, valid tags, in order.
pub fn parse_tags(values: &[String]) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for value in values {
        for tag in value
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
        {
            validate_tag(tag).map_err(|e| e.to_string())?;
            if !tags.iter().any(|existing| existing == tag) {
                tags.push(tag.to_string());
            }
        }
    }
    if tags.is_empty() {
        return Err("no tag given: pass --tag with at least one tag, e.g. --tag latest".into());
    }
    Ok(tags)
}

/// Parses `--build-arg` values as `docker build` does: `K=V`, or a bare `K` taking its value
/// from the environment (and left out when the environment has no such variable).
pub fn parse_build_args(
    values: &[String],
    environment: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut args = BTreeMap::new();
    for value in values {
        let (key, val) = match value.split_once('=') {
            Some((key, val)) => (key, Some(val.to_string())),
            None => (value.as_str(), environment(value)),
        };
        check_key("--build-arg", key, value)?;
        if let Some(val) = val {
            args.insert(key.to_string(), val);
        }
    }
    Ok(args)
}

/// Parses `KEY=VALUE` pairs (`--label`); the value may contain `=` and may be empty.
pub fn parse_key_values(flag: &str, values: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut pairs = BTreeMap::new();
    for value in values {
        let (key, val) = value
            .split_once('=')
            .ok_or_else(|| format!("{flag} {value:?} is malformed: expected KEY=VALUE"))?;
        check_key(flag, key, value)?;
        pairs.insert(key.to_string(), val.to_string());
    }
    Ok(pairs)
}

/// Parses ECR resource tags as the aws-ecr orb takes them: a JSON list of
/// `{"Key": …, "Value": …}`, or `Key=Value` pairs separated by commas.
pub fn parse_resource_tags(value: &str) -> Result<Vec<(String, String)>, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if trimmed.starts_with('[') {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Tag {
            key: String,
            #[serde(default)]
            value: String,
        }
        let tags: Vec<Tag> = serde_json::from_str(trimmed).map_err(|e| {
            format!("--repo-tags is not a JSON list of {{\"Key\",\"Value\"}} objects: {e}")
        })?;
        return Ok(tags.into_iter().map(|tag| (tag.key, tag.value)).collect());
    }
    trimmed
        .split(',')
        .map(|pair| {
            let (key, val) = pair.split_once('=').ok_or_else(|| {
                format!("--repo-tags entry {pair:?} is malformed: expected Key=Value")
            })?;
            check_key("--repo-tags", key.trim(), pair)?;
            Ok((key.trim().to_string(), val.trim().to_string()))
        })
        .collect()
}

/// Where a `--secret` value comes from, as `docker buildx build --secret` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    File(String),
    Environment(String),
}

/// `--secret id=ID[,src=FILE|,env=VARIABLE]` (also `source=`, `type=file|env`); with neither
/// `src` nor `env`, the value is the environment variable named like the ID, as buildx does.
pub fn parse_secret(value: &str) -> Result<(String, SecretOrigin), String> {
    let malformed = |why: &str| {
        format!(
            "--secret {value:?} is malformed: {why}; expected id=ID,src=FILE or id=ID,env=VARIABLE"
        )
    };
    let mut id = None;
    let mut kind = None;
    let mut file = None;
    let mut variable = None;
    for field in value.split(',').filter(|field| !field.is_empty()) {
        let (key, val) = field
            .split_once('=')
            .ok_or_else(|| malformed(&format!("{field:?} has no '='")))?;
        if val.is_empty() {
            return Err(malformed(&format!("{key} is empty")));
        }
        match key {
            "id" => id = Some(val.to_string()),
            "type" if val == "file" || val == "env" => kind = Some(val.to_string()),
            "type" => return Err(malformed(&format!("type {val:?} is neither file nor env"))),
            "src" | "source" => file = Some(val.to_string()),
            "env" => variable = Some(val.to_string()),
            other => return Err(malformed(&format!("unknown field {other:?}"))),
        }
    }
    let id = id.ok_or_else(|| malformed("id is missing"))?;
    let origin = match (file, variable, kind.as_deref()) {
        (Some(_), Some(_), _) => return Err(malformed("give src or env, not both")),
        (Some(file), None, Some("env")) => SecretOrigin::Environment(file),
        (Some(file), None, _) => SecretOrigin::File(file),
        (None, Some(variable), _) => SecretOrigin::Environment(variable),
        (None, None, Some("file")) => SecretOrigin::File(id.clone()),
        (None, None, _) => SecretOrigin::Environment(id.clone()),
    };
    Ok((id, origin))
}

/// A `--cache-from` value: an image, or buildx's `type=registry,ref=IMAGE` for the same. The
/// daemon's BuildKit imports cache from images only.
pub fn parse_cache_from(value: &str) -> Result<String, String> {
    if !value.contains('=') {
        return Ok(value.to_string());
    }
    let mut kind = None;
    let mut reference = None;
    for field in value.split(',') {
        match field.split_once('=') {
            Some(("type", val)) => kind = Some(val),
            Some(("ref", val)) => reference = Some(val),
            _ => {}
        }
    }
    match (kind, reference) {
        (Some("registry") | None, Some(reference)) if !reference.is_empty() => {
            Ok(reference.to_string())
        }
        (Some(other), _) if other != "registry" => Err(format!(
            "--cache-from {value:?}: the Docker daemon's BuildKit imports cache from images only \
             (an IMAGE, or type=registry,ref=IMAGE); type={other} needs a buildx builder of its own"
        )),
        _ => Err(format!(
            "--cache-from {value:?} is malformed: expected IMAGE or type=registry,ref=IMAGE"
        )),
    }
}

/// A `--cache-to` value: only `type=inline` (the same as `--cache-inline`), the one cache export
/// the daemon's embedded BuildKit has.
pub fn parse_cache_to(value: &str) -> Result<(), String> {
    let kind = value
        .split(',')
        .find_map(|field| field.strip_prefix("type="))
        .unwrap_or(value);
    if kind == "inline" {
        return Ok(());
    }
    Err(format!(
        "--cache-to {value:?}: the Docker daemon's embedded BuildKit exports cache only inline, into \
         the pushed image (--cache-to type=inline, or --cache-inline); type={kind} cache export \
         needs a BuildKit builder of its own (docker buildx create --driver docker-container), \
         which deployer does not drive"
    ))
}

/// Parses `--add-host HOST:IP` as `docker build` does: the name, then an IPv4 or IPv6 address
/// (or `host-gateway`, which the daemon replaces with its own address), split at the first `:`.
/// The entry goes into `/etc/hosts` of the build's RUN steps; returned as the daemon takes it.
pub fn parse_add_host(value: &str) -> Result<String, String> {
    let malformed = |why: &str| {
        format!(
            "--add-host {value:?} is malformed: {why}, as in --add-host registry.internal:10.0.0.5"
        )
    };
    let (host, address) = value
        .split_once(':')
        .ok_or_else(|| malformed("expected HOST:IP"))?;
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if !host_ok {
        return Err(malformed(
            "the host name may have letters, digits, '-', '.' and '_'",
        ));
    }
    let address = address
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(address);
    if address != "host-gateway" && address.parse::<std::net::IpAddr>().is_err() {
        return Err(malformed(
            "the address must be an IPv4 or IPv6 address, or host-gateway",
        ));
    }
    Ok(format!("{host}:{address}"))
}

fn check_key(flag: &str, key: &str, whole: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        Err(format!("{flag} {whole:?} is malformed: the name before '=' must be non-empty and have no spaces"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn secrets_read_as_buildx_reads_them() {
        let file = |id: &str, path: &str| Ok((id.to_string(), SecretOrigin::File(path.into())));
        let env =
            |id: &str, name: &str| Ok((id.to_string(), SecretOrigin::Environment(name.into())));
        assert_eq!(
            parse_secret("id=npmrc,src=/home/ci/.npmrc"),
            file("npmrc", "/home/ci/.npmrc")
        );
        assert_eq!(
            parse_secret("id=npmrc,source=.npmrc,type=file"),
            file("npmrc", ".npmrc")
        );
        assert_eq!(
            parse_secret("id=token,env=NPM_TOKEN"),
            env("token", "NPM_TOKEN")
        );
        assert_eq!(
            parse_secret("type=env,id=token,src=NPM_TOKEN"),
            env("token", "NPM_TOKEN")
        );
        assert_eq!(parse_secret("id=NPM_TOKEN"), env("NPM_TOKEN", "NPM_TOKEN"));
        assert_eq!(parse_secret("id=aws,type=file"), file("aws", "aws"));
        for (bad, why) in [
            ("src=/tmp/x", "id is missing"),
            ("id=a,src=f,env=V", "not both"),
            ("id=a,type=ssh", "neither file nor env"),
            ("id=a,mode=0400", "unknown field \"mode\""),
            ("id=,env=V", "id is empty"),
            ("npmrc", "has no '='"),
        ] {
            let error = parse_secret(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn cache_sources_are_images_and_cache_export_is_inline_only() {
        assert_eq!(
            parse_cache_from("127.0.0.1:5000/site:main").unwrap(),
            "127.0.0.1:5000/site:main"
        );
        assert_eq!(
            parse_cache_from(
                "type=registry,ref=123456789012.dkr.ecr.eu-west-1.amazonaws.com/site:cache"
            )
            .unwrap(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/site:cache"
        );
        let local = parse_cache_from("type=local,src=/tmp/cache").unwrap_err();
        assert!(
            local.contains("type=local needs a buildx builder"),
            "{local}"
        );
        assert!(parse_cache_from("type=registry")
            .unwrap_err()
            .contains("malformed"));
        assert!(parse_cache_to("type=inline").is_ok());
        assert!(parse_cache_to("inline").is_ok());
        let registry = parse_cache_to("type=registry,ref=site:cache,mode=max").unwrap_err();
        assert!(
            registry.contains("type=registry cache export needs a BuildKit builder of its own"),
            "{registry}"
        );
    }

    #[test]
    fn tags_split_on_commas_dedupe_and_validate() {
        assert_eq!(
            parse_tags(&strings(&["latest,v1", "v1", " sha-abc "])).unwrap(),
            ["latest", "v1", "sha-abc"]
        );
        assert!(parse_tags(&strings(&["ok,-bad"]))
            .unwrap_err()
            .contains("\"-bad\""));
        assert!(parse_tags(&strings(&[","])).unwrap_err().contains("no tag"));
    }

    #[test]
    fn build_args_take_values_from_the_environment_like_docker() {
        let environment = |key: &str| (key == "FROM_ENV").then(|| "env-value".to_string());
        let args = parse_build_args(
            &strings(&["A=1", "B=x=y", "EMPTY=", "FROM_ENV", "UNSET"]),
            environment,
        )
        .unwrap();
        assert_eq!(args["A"], "1");
        assert_eq!(args["B"], "x=y");
        assert_eq!(args["EMPTY"], "");
        assert_eq!(args["FROM_ENV"], "env-value");
        assert!(!args.contains_key("UNSET"));
        assert!(parse_build_args(&strings(&["=v"]), |_| None)
            .unwrap_err()
            .contains("malformed"));
        assert!(parse_build_args(&strings(&["A B=v"]), |_| None).is_err());
    }

    #[test]
    fn labels_need_an_equals_sign() {
        let labels = parse_key_values(
            "--label",
            &strings(&["org.opencontainers.image.revision=abc=def"]),
        )
        .unwrap();
        assert_eq!(labels["org.opencontainers.image.revision"], "abc=def");
        let error = parse_key_values("--label", &strings(&["novalue"])).unwrap_err();
        assert!(error.contains("--label \"novalue\""), "{error}");
    }

    #[test]
    fn resource_tags_in_both_orb_forms() {
        assert_eq!(
            parse_resource_tags(r#"[{"Key":"team","Value":"web"},{"Key":"env","Value":"prod"}]"#)
                .unwrap(),
            [
                ("team".to_string(), "web".to_string()),
                ("env".to_string(), "prod".to_string())
            ]
        );
        assert_eq!(
            parse_resource_tags("team=web, env=prod").unwrap(),
            [
                ("team".to_string(), "web".to_string()),
                ("env".to_string(), "prod".to_string())
            ]
        );
        assert!(parse_resource_tags("team").is_err());
        assert!(parse_resource_tags("[{").is_err());
        assert!(parse_resource_tags("").unwrap().is_empty());
    }
    #[test]
    fn add_host_takes_a_name_and_an_address() {
        assert_eq!(
            parse_add_host("registry.internal:10.0.0.5").unwrap(),
            "registry.internal:10.0.0.5"
        );
        assert_eq!(parse_add_host("db:::1").unwrap(), "db:::1");
        assert_eq!(parse_add_host("db:[fd00::5]").unwrap(), "db:fd00::5");
        assert_eq!(
            parse_add_host("host.docker.internal:host-gateway").unwrap(),
            "host.docker.internal:host-gateway"
        );
        for bad in [
            "registry.internal",
            ":10.0.0.5",
            "reg istry:10.0.0.5",
            "db:10.0.0",
            "db:gateway",
        ] {
            let error = parse_add_host(bad).unwrap_err();
            assert!(
                error.contains("--add-host") && error.contains(bad),
                "{error}"
            );
        }
    }
}
