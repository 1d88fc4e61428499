//! ECR tag mutability, including the `*_WITH_EXCLUSION` settings whose wildcard filters flip
//! the rule for the tags they match.

/// Whether pushing `tag` may move it to another image, given the repository's settings.
pub fn tag_is_immutable(mutability: &str, exclusion_filters: &[String], tag: &str) -> bool {
    let excluded = exclusion_filters
        .iter()
        .any(|filter| wildcard_match(filter, tag));
    match mutability {
        "IMMUTABLE" => true,
        "IMMUTABLE_WITH_EXCLUSION" => !excluded,
        "MUTABLE_WITH_EXCLUSION" => excluded,
        _ => false,
    }
}

/// ECR's WILDCARD filters: `*` matches any run of characters, everything else itself.
fn wildcard_match(filter: &str, tag: &str) -> bool {
    let parts: Vec<&str> = filter.split('*').collect();
    if parts.len() == 1 {
        return filter == tag;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !tag.starts_with(first) || tag.len() < first.len() + last.len() || !tag.ends_with(last) {
        return false;
    }
    let mut rest = &tag[first.len()..tag.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn plain_settings() {
        assert!(tag_is_immutable("IMMUTABLE", &[], "v1"));
        assert!(!tag_is_immutable("MUTABLE", &[], "v1"));
    }

    #[test]
    fn exclusions_flip_the_rule_for_matching_tags() {
        let exclusions = filters(&["latest", "dev-*", "*-rc*"]);
        assert!(!tag_is_immutable(
            "IMMUTABLE_WITH_EXCLUSION",
            &exclusions,
            "latest"
        ));
        assert!(!tag_is_immutable(
            "IMMUTABLE_WITH_EXCLUSION",
            &exclusions,
            "dev-42"
        ));
        assert!(!tag_is_immutable(
            "IMMUTABLE_WITH_EXCLUSION",
            &exclusions,
            "v2-rc1"
        ));
        assert!(tag_is_immutable(
            "IMMUTABLE_WITH_EXCLUSION",
            &exclusions,
            "v1.0.0"
        ));
        assert!(tag_is_immutable(
            "MUTABLE_WITH_EXCLUSION",
            &exclusions,
            "dev-1"
        ));
        assert!(!tag_is_immutable(
            "MUTABLE_WITH_EXCLUSION",
            &exclusions,
            "v1"
        ));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(!wildcard_match("a*b*c", "aXcYb"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }
}
