//! The profiles the AWS shared config and credentials files define, so a `--profile` or
//! `AWS_PROFILE` that names none is refused before any call instead of being passed over.

/// The profile names of `~/.aws/config` (`[default]`, `[profile NAME]`) and
/// `~/.aws/credentials` (`[NAME]`), in order, each once.
pub fn profile_names(config: &str, credentials: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let sections = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter_map(|line| line.strip_prefix('[')?.split(']').next())
            .map(|section| section.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    for section in sections(config) {
        let name = match section.strip_prefix("profile ") {
            Some(name) => name.trim().to_string(),
            // Other sections (sso-session, services) are not profiles; a bare name is one to
            // the AWS CLI.
            None if section.contains(' ') => continue,
            None => section,
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in sections(credentials) {
        if !name.contains(' ') && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_both_files() {
        let config = "[default]\nregion = eu-west-1\n\n[profile ci]\nrole_arn = arn:aws:iam::123456789012:role/ci\nsource_profile = default\n[sso-session corp]\nsso_region = eu-west-1\n[profile  spaced ]\n";
        let credentials = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n[prod]\naws_access_key_id = AKIA\n";
        assert_eq!(
            profile_names(config, credentials),
            ["default", "ci", "spaced", "prod"]
        );
    }

    #[test]
    fn no_files_no_profiles() {
        assert!(profile_names("", "").is_empty());
    }
}
