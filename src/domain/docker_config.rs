//! The Docker CLI's `config.json`: adding one registry's credentials while keeping the rest.
use base64::Engine;
use serde_json::{json, Map, Value};

/// Returns `existing` with `auths[registry]` set to the credentials, and every other key kept.
/// Fails when the existing text is not a JSON object (better than overwriting someone's file).
pub fn with_registry_auth(
    existing: Option<&str>,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<Value, String> {
    let mut config = parse_object(existing)?;
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        return Err("its \"auths\" is not a JSON object".into());
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    auths[registry] = json!({ "auth": auth });
    Ok(Value::Object(config))
}

/// Returns `existing` with `credHelpers[registry]` set to `helper` (the Docker CLI then runs
/// `docker-credential-HELPER` for it) and any token stored for it in `auths` removed.
pub fn with_credential_helper(
    existing: Option<&str>,
    registry: &str,
    helper: &str,
) -> Result<Value, String> {
    let mut config = parse_object(existing)?;
    if let Some(auths) = config.get_mut("auths").and_then(Value::as_object_mut) {
        auths.remove(registry);
    }
    let helpers = config
        .entry("credHelpers")
        .or_insert_with(|| Value::Object(Map::new()));
    if !helpers.is_object() {
        return Err("its \"credHelpers\" is not a JSON object".into());
    }
    helpers[registry] = Value::String(helper.to_string());
    Ok(Value::Object(config))
}

fn parse_object(existing: Option<&str>) -> Result<Map<String, Value>, String> {
    match existing.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err("it is not a JSON object".into()),
            Err(e) => Err(format!("it is not valid JSON: {e}")),
        },
        None => Ok(Map::new()),
    }
}

/// A credential helper that the Docker CLI would use instead of `auths` for this registry.
pub fn credential_helper_for(config: &Value, registry: &str) -> Option<String> {
    config
        .get("credHelpers")
        .and_then(|helpers| helpers.get(registry))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|helper| !helper.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_auth_and_keeps_other_keys() {
        let existing = r#"{"auths":{"other.io":{"auth":"b3RoZXI="}},"proxies":{"default":{}}}"#;
        let config = with_registry_auth(Some(existing), "127.0.0.1:15000", "AWS", "p:w").unwrap();
        assert_eq!(config["auths"]["other.io"]["auth"], "b3RoZXI=");
        assert_eq!(config["auths"]["127.0.0.1:15000"]["auth"], "QVdTOnA6dw==");
        assert!(config.get("proxies").is_some());
    }

    #[test]
    fn starts_fresh_and_refuses_garbage() {
        let config = with_registry_auth(None, "r", "u", "p").unwrap();
        assert_eq!(config["auths"]["r"]["auth"], "dTpw");
        assert!(with_registry_auth(Some("[1]"), "r", "u", "p").is_err());
        assert!(with_registry_auth(Some("{"), "r", "u", "p").is_err());
        assert!(with_registry_auth(Some(r#"{"auths":3}"#), "r", "u", "p").is_err());
    }

    #[test]
    fn a_credential_helper_replaces_the_stored_token() {
        let existing = r#"{"auths":{"r":{"auth":"dTpw"},"other.io":{"auth":"b3RoZXI="}},"credHelpers":{"gcr.io":"gcloud"}}"#;
        let config = with_credential_helper(Some(existing), "r", "deployer").unwrap();
        assert_eq!(config["credHelpers"]["r"], "deployer");
        assert_eq!(config["credHelpers"]["gcr.io"], "gcloud");
        assert!(config["auths"].get("r").is_none());
        assert_eq!(config["auths"]["other.io"]["auth"], "b3RoZXI=");
        let fresh = with_credential_helper(None, "r", "deployer").unwrap();
        assert_eq!(fresh, json!({"credHelpers": {"r": "deployer"}}));
        assert!(with_credential_helper(Some(r#"{"credHelpers":[]}"#), "r", "deployer").is_err());
    }

    #[test]
    fn finds_credential_helpers() {
        let config: Value = serde_json::from_str(r#"{"credHelpers":{"r":"ecr-login"}}"#).unwrap();
        assert_eq!(
            credential_helper_for(&config, "r").as_deref(),
            Some("ecr-login")
        );
        assert_eq!(credential_helper_for(&config, "other"), None);
        let config: Value = serde_json::from_str(r#"{"credsStore":"desktop"}"#).unwrap();
        assert_eq!(
            credential_helper_for(&config, "r").as_deref(),
            Some("desktop")
        );
    }
}
