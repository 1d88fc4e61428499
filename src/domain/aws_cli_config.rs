//! The AWS CLI's config and credentials files as `aws configure set` leaves them: what the
//! aws-ecs orb's 0.0.x-3.x jobs (aws-cli/configure, aws-cli/setup) left for the job's later
//! steps that call `aws`. Only the keys given change; every other line stays as it was.

use std::path::PathBuf;

use crate::secret::Secret;

/// What to write, resolved from the orb step's parameters.
#[derive(Debug)]
pub struct AwsCliConfig {
    pub profile: String,
    /// The region and the variable (or parameter) it came from.
    pub region: Option<(String, String)>,
    /// The access key ID and the secret key, with the names of the variables holding them.
    pub keys: Option<(String, Secret, String)>,
    pub config_file: PathBuf,
    pub credentials_file: PathBuf,
}

/// The section a profile's settings live in: `[default]` or `[profile NAME]` in the config
/// file, `[NAME]` in the credentials file.
pub fn section(profile: &str, credentials_file: bool) -> String {
    if credentials_file || profile == "default" {
        profile.to_string()
    } else {
        format!("profile {profile}")
    }
}

/// `text` with `key = value` set in `[section]`: the key's line replaced where the section has
/// it, else added at the section's end; the section added at the end when missing.
pub fn set(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = |line: &str| {
        let line = line.trim();
        (line.starts_with('[') && line.ends_with(']'))
            .then(|| line[1..line.len() - 1].trim().to_string())
    };
    let entry = format!("{key} = {value}");
    let Some(start) = lines
        .iter()
        .position(|line| header(line).as_deref() == Some(section))
    else {
        if lines.last().is_some_and(|line| !line.trim().is_empty()) {
            lines.push(String::new());
        }
        lines.extend([format!("[{section}]"), entry]);
        return lines.join("\n") + "\n";
    };
    let end = lines[start + 1..]
        .iter()
        .position(|line| header(line).is_some())
        .map_or(lines.len(), |offset| start + 1 + offset);
    let existing = (start + 1..end).find(|&at| {
        lines[at]
            .split_once('=')
            .is_some_and(|(name, _)| name.trim() == key)
    });
    match existing {
        Some(at) => lines[at] = entry,
        None => {
            // After the section's last setting, before the blank lines that part it from the next.
            let mut at = end;
            while at > start + 1 && lines[at - 1].trim().is_empty() {
                at -= 1;
            }
            lines.insert(at, entry);
        }
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_land_in_their_profiles_section() {
        assert_eq!(section("default", false), "default");
        assert_eq!(section("ci", false), "profile ci");
        assert_eq!(section("ci", true), "ci");
        let text = set("", "default", "region", "eu-west-1");
        assert_eq!(text, "[default]\nregion = eu-west-1\n");
        let text = set(&text, "default", "region", "us-east-1");
        assert_eq!(text, "[default]\nregion = us-east-1\n");
        let existing = "[default]\noutput = json\n\n[profile ci]\nregion=eu-central-1\n";
        assert_eq!(
            set(existing, "default", "region", "eu-west-1"),
            "[default]\noutput = json\nregion = eu-west-1\n\n[profile ci]\nregion=eu-central-1\n"
        );
        assert_eq!(
            set(existing, "profile ci", "region", "eu-west-1"),
            "[default]\noutput = json\n\n[profile ci]\nregion = eu-west-1\n"
        );
        assert_eq!(
            set(existing, "profile other", "region", "eu-west-1"),
            format!("{existing}\n[profile other]\nregion = eu-west-1\n")
        );
    }
}
