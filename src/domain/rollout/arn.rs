//! Task definitions as ARNs, `family:revision` and `family` name them: shortened for messages,
//! compared, their family read, and checked as a flag names them.

/// `family:revision` of a task-definition ARN (other references are returned as they are).
pub fn short_task_definition(arn: &str) -> &str {
    arn.rsplit_once(":task-definition/")
        .map_or(arn, |(_, short)| short)
}

/// The family a task definition ARN (or `family:revision`) names.
pub fn family_of(task_definition: &str) -> &str {
    let short = short_task_definition(task_definition);
    match short.rsplit_once(':') {
        Some((family, revision)) if revision.chars().all(|c| c.is_ascii_digit()) => family,
        _ => short,
    }
}

/// Checks a task definition as a flag names it: an ARN, `FAMILY:REVISION` or `FAMILY`, the
/// family of letters, digits, `-` and `_` (up to 255), the revision a number from 1.
pub fn check_task_definition_reference(value: &str) -> Result<(), String> {
    let forms = "give an ARN, FAMILY:REVISION or FAMILY";
    let short = short_task_definition(value);
    let (family, revision) = match short.split_once(':') {
        Some((family, revision)) => (family, Some(revision)),
        None => (short, None),
    };
    let family_ok = !family.is_empty()
        && family.len() <= 255
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !family_ok {
        return Err(format!(
            "{value:?} is not a task definition: the family takes letters, digits, '-' and '_' ({forms})"
        ));
    }
    if let Some(revision) = revision {
        if !matches!(revision.parse::<u32>(), Ok(number) if number > 0) {
            return Err(format!(
                "{value:?} is not a task definition: the revision after ':' must be a number from 1 ({forms})"
            ));
        }
    }
    Ok(())
}

/// Full ARNs and `family:revision` (as some emulators answer) compare equal when they name the
/// same revision.
pub fn same_task_definition(left: &str, right: &str) -> bool {
    left == right || short_task_definition(left) == short_task_definition(right)
}

fn family_and_revision(task_definition: &str) -> Option<(&str, u32)> {
    let (family, revision) = short_task_definition(task_definition).rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

pub(super) fn is_older_revision(candidate: &str, reference: &str) -> bool {
    match (
        family_and_revision(candidate),
        family_and_revision(reference),
    ) {
        (Some((family, revision)), Some((reference_family, reference_revision))) => {
            family == reference_family && revision < reference_revision
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rollout::fixtures::NEW;

    #[test]
    fn task_definition_references_are_checked_before_ecs_is_asked() {
        for good in [
            "tutorial-site-task",
            "tutorial-site-task:7",
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
        ] {
            assert!(check_task_definition_reference(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            (
                "tutorial-site-task:abc",
                "the revision after ':' must be a number",
            ),
            (
                "tutorial-site-task:0",
                "the revision after ':' must be a number",
            ),
            (
                "tutorial-site-task:",
                "the revision after ':' must be a number",
            ),
            ("tutorial site", "the family takes letters"),
            ("", "the family takes letters"),
        ] {
            let error = check_task_definition_reference(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn task_definitions_are_shortened_to_family_and_revision() {
        assert_eq!(short_task_definition(NEW), "tutorial-site-task:2");
        assert_eq!(
            short_task_definition("tutorial-site-task:2"),
            "tutorial-site-task:2"
        );
        assert!(same_task_definition(NEW, "tutorial-site-task:2"));
        assert!(!same_task_definition(NEW, "tutorial-site-task:20"));
    }
}
