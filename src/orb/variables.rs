//! The values CircleCI hands an orb step: parameters with `$VAR` references in them, variable
//! names where the aws orbs took one, and booleans rendered as `true`/`false` or `1`/`0`.

/// Expands `$NAME` and `${NAME}` as the aws orbs' `eval echo` does for plain references: an unset
/// variable expands to nothing. Nothing else of the shell is interpreted: no command
/// substitution, no globbing, no word splitting. A `$` not followed by a name stays as it is.
pub fn expand_env(value: &str, environment: impl Fn(&str) -> Option<String>) -> String {
    pieces(value)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.to_string(),
            Piece::Reference(name) => environment(name).unwrap_or_default(),
        })
        .collect()
}

/// The variables `value` refers to that are unset or empty, each once, in order: what makes
/// an orb parameter expand to less than it says.
pub fn empty_references(value: &str, environment: impl Fn(&str) -> Option<String>) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for piece in pieces(value) {
        if let Piece::Reference(name) = piece {
            if environment(name).is_none_or(|value| value.is_empty()) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// A parameter's text cut into literal text and variable references.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Reference(&'a str),
}

fn pieces(value: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let after = &rest[at + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                let name = &braced[..end];
                if is_env_name(name) {
                    pieces.push(Piece::Reference(name));
                    rest = &braced[end + 1..];
                    continue;
                }
            }
        } else {
            let len = after
                .char_indices()
                .find(|&(i, c)| {
                    !(c == '_' || c.is_ascii_alphanumeric()) || (i == 0 && c.is_ascii_digit())
                })
                .map_or(after.len(), |(i, _)| i);
            if len > 0 {
                pieces.push(Piece::Reference(&after[..len]));
                rest = &after[len..];
                continue;
            }
        }
        pieces.push(Piece::Text("$"));
        rest = after;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// A shell variable name: letters, digits and `_`, not starting with a digit.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The aws orbs before v7 took the *name* of an environment variable for the region and the
/// account (`region: AWS_DEFAULT_REGION`, as in the seed's config): an upper-case variable
/// name. Region names and account ids never look like one.
pub fn is_upper_env_name(value: &str) -> bool {
    is_env_name(value)
        && value
            .chars()
            .all(|c| c == '_' || c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A value that is an upper-case variable name that is set is read through (`Values::read_through`
/// does it for a step's parameters).
#[cfg(test)]
pub fn read_through_env_name(
    value: &str,
    environment: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if is_upper_env_name(value) {
        environment(value)
    } else {
        None
    }
}

/// The variable an orb parameter names: `NAME` (the aws orbs' `env_var_name` parameters, 1.x
/// on) or `$NAME` / `${NAME}` (the same variable written as a value, in their 0.0.x). `None`
/// for anything else, which is refused rather than guessed at.
pub fn named_variable(value: &str) -> Option<&str> {
    let value = value.trim();
    let name = match value.strip_prefix('$') {
        Some(rest) => rest
            .strip_prefix('{')
            .and_then(|braced| braced.strip_suffix('}'))
            .unwrap_or(rest),
        None => value,
    };
    is_env_name(name).then_some(name)
}

/// Parses a boolean as CircleCI places it in a step's environment: `1`/`0` when the variable's
/// whole value is `<< parameters.x >>` (CircleCI writes the YAML boolean as a number), `true`/
/// `false` when the parameter is interpolated inside a longer string.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(format!(
            "parameter {name} is {other:?}: expected true or false"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "AWS_ACCOUNT_ID" => Some("123456789012".into()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".into()),
            "CIRCLE_SHA1" => Some("0a1b2c".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_and_bare_references() {
        assert_eq!(expand_env("${AWS_ACCOUNT_ID}", env), "123456789012");
        assert_eq!(expand_env("$AWS_DEFAULT_REGION", env), "eu-west-1");
        assert_eq!(
            expand_env("v1-$CIRCLE_SHA1,latest", env),
            "v1-0a1b2c,latest"
        );
        assert_eq!(expand_env("${CIRCLE_SHA1}-x", env), "0a1b2c-x");
    }

    #[test]
    fn empty_references_are_named() {
        let environment = |name: &str| match name {
            "CIRCLE_BRANCH" => Some("main".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            empty_references(
                "container=app,tag=${CIRCLE_SHA1},branch=$CIRCLE_BRANCH,$EMPTY,${CIRCLE_SHA1}",
                environment
            ),
            ["CIRCLE_SHA1", "EMPTY"]
        );
        assert!(empty_references("cost $5 and ${not a name}", environment).is_empty());
    }

    #[test]
    fn unset_references_expand_to_nothing_and_other_dollars_stay() {
        assert_eq!(expand_env("${AWS_ECR_PUBLIC_REGISTRY_ALIAS}", env), "");
        assert_eq!(expand_env("a$", env), "a$");
        assert_eq!(expand_env("cost $5", env), "cost $5");
        assert_eq!(expand_env("${not a name}", env), "${not a name}");
        assert_eq!(expand_env("$(whoami)", env), "$(whoami)");
        assert_eq!(expand_env("${UNCLOSED", env), "${UNCLOSED");
    }

    #[test]
    fn named_variables_are_bare_names_or_dollar_references() {
        assert_eq!(named_variable("PROD_KEY"), Some("PROD_KEY"));
        assert_eq!(
            named_variable("$AWS_ACCESS_KEY_ID"),
            Some("AWS_ACCESS_KEY_ID")
        );
        assert_eq!(
            named_variable("${AWS_ACCESS_KEY_ID}"),
            Some("AWS_ACCESS_KEY_ID")
        );
        assert_eq!(named_variable(" prod_key "), Some("prod_key"));
        assert_eq!(named_variable("AKIA/EXAMPLE+"), None);
        assert_eq!(named_variable("${A"), None);
        assert_eq!(named_variable(""), None);
    }

    #[test]
    fn old_style_variable_names_are_read_through() {
        assert_eq!(
            read_through_env_name("AWS_DEFAULT_REGION", env).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(read_through_env_name("eu-west-1", env), None);
        assert_eq!(read_through_env_name("123456789012", env), None);
        assert_eq!(read_through_env_name("UNSET_NAME", env), None);
    }

    #[test]
    fn booleans_as_circleci_renders_them() {
        assert!(parse_bool("create_repo", "true").unwrap());
        assert!(!parse_bool("create_repo", "false").unwrap());
        assert!(parse_bool("create_repo", "1").unwrap());
        assert!(!parse_bool("create_repo", "0").unwrap());
        assert!(!parse_bool("create_repo", "").unwrap());
        let error = parse_bool("create_repo", "yes").unwrap_err();
        assert!(error.contains("create_repo"), "{error}");
    }
}
