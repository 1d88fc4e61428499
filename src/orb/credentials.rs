//! The credentials an orb step authenticates with: the access keys its credential parameters
//! name, and what the AWS CLI gets for the job's later steps (`deployer orb aws-cli-config`).
use std::path::Path;

use super::steps::Step;
use super::table::Kind;
use super::values::{env_name, orb_usage, Values};
use super::variables::named_variable;
use crate::adapters::aws::StaticCredentials;
use crate::domain::aws_cli_config::AwsCliConfig;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The access keys a step authenticates with when its `aws_access_key_id` /
/// `aws_secret_access_key` parameters name other variables than the standard ones (which the
/// SDK reads itself): the aws orbs' `env_var_name` parameters, or their 0.0.x `$NAME` values.
pub fn credentials(
    step: Step,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<StaticCredentials>> {
    let mut named = Vec::new();
    for param in step.params() {
        let Kind::Credential { standard } = param.kind else {
            continue;
        };
        let raw = environment(&env_name(param.name)).unwrap_or_default();
        let variable = if raw.trim().is_empty() {
            standard.to_string()
        } else {
            named_variable(&raw)
                .ok_or_else(|| {
                    orb_usage(
                        param.name,
                        format!(
                            "{} is not the name of a variable (NAME or $NAME): it names the \
                             variable that holds the key, not the key",
                            param.name
                        ),
                    )
                })?
                .to_string()
        };
        named.push((param.name, standard, variable));
    }
    if named
        .iter()
        .all(|(_, standard, variable)| variable == standard)
    {
        return Ok(None);
    }
    let mut keys = named.into_iter().map(|(param, _, variable)| {
        environment(&variable)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                // The parameter's value is never printed: a key pasted where a variable's name
                // belongs reads as a name too. It is masked from here on, in case it is one.
                crate::output::register_secret(&Secret::new(variable.clone()));
                Error::usage(format!("the variable named in {param} is not set or empty"))
                    .with_hint(format!(
                        "{param} takes the name of the variable that holds the key (such as \
                     AWS_SECRET_ACCESS_KEY), never the key itself: set that variable in the \
                     job's environment or context, or point {param} at the one that is set"
                    ))
            })
    });
    let (Some(access_key_id), Some(secret_access_key)) = (keys.next(), keys.next()) else {
        return Ok(None);
    };
    Ok(Some(StaticCredentials {
        access_key_id: access_key_id?,
        secret_access_key: Secret::new(secret_access_key?),
    }))
}

/// What the AWS CLI gets for the job's later steps (`deployer orb aws-cli-config`): the region
/// read as the update_service step reads it, the keys the credential parameters' variables hold
/// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when they name none).
pub fn aws_cli_config(environment: &dyn Fn(&str) -> Option<String>) -> Result<AwsCliConfig> {
    let values = Values { environment };
    let written = environment(&env_name("region")).unwrap_or_default();
    let region = Some(values.read_through("region"))
        .filter(|region| !region.is_empty())
        .map(|region| {
            let from = named_variable(&written)
                .map_or_else(|| "the region parameter".to_string(), str::to_string);
            (region, from)
        });
    let profile = Some(values.get("profile_name"))
        .filter(|profile| !profile.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let variable = |param: &str, standard: &str| -> Result<String> {
        let raw = environment(&env_name(param)).unwrap_or_default();
        if raw.trim().is_empty() {
            return Ok(standard.to_string());
        }
        named_variable(&raw).map(str::to_string).ok_or_else(|| {
            orb_usage(
                param,
                format!("{param} is not the name of a variable (NAME or $NAME)"),
            )
        })
    };
    let key_variable = variable("aws_access_key_id", "AWS_ACCESS_KEY_ID")?;
    let secret_variable = variable("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY")?;
    let value = |name: &str| {
        environment(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let keys = value(&key_variable)
        .zip(value(&secret_variable))
        .map(|(access_key_id, secret)| {
            (
                access_key_id,
                Secret::new(secret),
                format!("{key_variable} and {secret_variable}"),
            )
        });
    let home = || Path::new(&crate::env::var(crate::env::HOME).unwrap_or_default()).join(".aws");
    let file = |variable: &'static str, name: &str| {
        crate::env::var(variable)
            .filter(|path| !path.is_empty())
            .map_or_else(|| home().join(name), std::path::PathBuf::from)
    };
    Ok(AwsCliConfig {
        profile,
        region,
        keys,
        config_file: file(crate::env::AWS_CONFIG_FILE, "config"),
        credentials_file: file(crate::env::AWS_SHARED_CREDENTIALS_FILE, "credentials"),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::error::ErrorKind;

    fn keys(vars: &[(&str, &str)]) -> Result<Option<StaticCredentials>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        credentials(Step::UpdateService, &|name| vars.get(name).cloned())
    }

    #[test]
    fn credentials_come_from_the_variables_the_parameters_name() {
        // The standard names (or none): the SDK's own chain reads them.
        assert_eq!(keys(&[]).unwrap(), None);
        assert_eq!(
            keys(&[
                ("PARAM_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
                ("PARAM_AWS_SECRET_ACCESS_KEY", "$AWS_SECRET_ACCESS_KEY"),
            ])
            .unwrap(),
            None
        );
        let named = keys(&[
            ("PARAM_AWS_ACCESS_KEY_ID", "PROD_KEY_ID"),
            ("PARAM_AWS_SECRET_ACCESS_KEY", "${PROD_SECRET}"),
            ("PROD_KEY_ID", "AKIAPROD"),
            ("PROD_SECRET", "prod-secret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(named.access_key_id, "AKIAPROD");
        assert_eq!(named.secret_access_key.expose(), "prod-secret");
        // One named, the other standard: both are read.
        let mixed = keys(&[
            ("PARAM_AWS_ACCESS_KEY_ID", "PROD_KEY_ID"),
            ("PROD_KEY_ID", "AKIAPROD"),
            ("AWS_SECRET_ACCESS_KEY", "standard-secret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(mixed.secret_access_key.expose(), "standard-secret");
    }

    #[test]
    fn credentials_refuse_unset_variables_and_keys_given_as_values() {
        let error = keys(&[("PARAM_AWS_ACCESS_KEY_ID", "PROD_KEY_ID")]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            error
                .to_string()
                .contains("the variable named in aws_access_key_id is not set"),
            "{error}"
        );
        // Issue 20: a letters-and-digits secret key given where a variable's name belongs reads
        // as a name; it is never printed.
        let error = keys(&[
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            (
                "PARAM_AWS_SECRET_ACCESS_KEY",
                "WJALRXUTNFEMIK7MDENGBPXRFICY",
            ),
        ])
        .unwrap_err();
        let text = format!("{error} {:?}", error);
        assert!(!text.contains("WJALRXUTNFEMIK7MDENGBPXRFICY"), "{text}");
        assert!(
            text.contains("the variable named in aws_secret_access_key is not set"),
            "{text}"
        );
        let error = keys(&[("PARAM_AWS_SECRET_ACCESS_KEY", "wJalr/K7MDENG+bPxRfiCY")]).unwrap_err();
        let text = format!("{error} {:?}", error);
        assert!(text.contains("is not the name of a variable"), "{text}");
        assert!(
            !text.contains("wJalr"),
            "the value never reaches the message: {text}"
        );
    }
}
