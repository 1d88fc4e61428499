//! `deployer orb aws-cli-config`: the AWS CLI configured for the job's later steps, as the
//! aws-ecs orb's 0.0.x-3.x jobs left it (aws-cli/configure, aws-cli/setup): the profile's
//! region in the config file and the keys in the credentials file (mode 0600).
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::domain::aws_cli_config::AwsCliConfig;
use crate::domain::aws_cli_config::{section, set};
use crate::error::{Error, Result};
use crate::output;

pub fn run(settings: &AwsCliConfig) -> Result<()> {
    let AwsCliConfig {
        profile,
        region,
        keys,
        config_file,
        credentials_file,
    } = settings;
    match region {
        Some((region, from)) => {
            let text = read(config_file)?;
            let text = set(&text, &section(profile, false), "region", region);
            write(config_file, &text, false)?;
            output::step(format!(
                "AWS CLI: region {region} (from {from}) for profile {profile} in {}",
                config_file.display()
            ));
        }
        None => output::step(
            "AWS CLI: no region to configure (the region parameter is empty): `aws` steps use \
             their own",
        ),
    }
    match keys {
        Some((access_key_id, secret, from)) => {
            output::register_secret(secret);
            let credentials = section(profile, true);
            let text = read(credentials_file)?;
            let text = set(&text, &credentials, "aws_access_key_id", access_key_id);
            let text = set(
                &text,
                &credentials,
                "aws_secret_access_key",
                secret.expose(),
            );
            write(credentials_file, &text, true)?;
            output::step(format!(
                "AWS CLI: the keys {from} hold for profile {profile} in {} (mode 0600)",
                credentials_file.display()
            ));
        }
        None => output::step(
            "AWS CLI: no keys written (the variables the credential parameters name are unset): \
             `aws` steps use the job's own credentials",
        ),
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::environment(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn write(path: &Path, text: &str, private: bool) -> Result<()> {
    let failed =
        |e: std::io::Error| Error::environment(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .map_err(failed)?;
    if private {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(failed)?;
    }
    file.write_all(text.as_bytes()).map_err(failed)
}
