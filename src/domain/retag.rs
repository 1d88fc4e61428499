//! What `tag-image` does with each target tag, decided before ECR is changed: a tag that holds
//! the image already is left alone, a free one is added, one holding another image is moved
//! only where the repository lets tags move (and never under `--skip-when-tags-exist`).
use std::collections::BTreeMap;

use super::tag_mutability::tag_is_immutable;

/// What becomes of one target tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagAction {
    /// The tag does not exist: PutImage adds it.
    Add,
    /// The tag holds this image already: nothing to do (ECR would refuse the PutImage).
    Unchanged,
    /// The tag holds another image (this digest) in a mutable repository: PutImage moves it.
    Move { from: String },
    /// `--skip-when-tags-exist` and the tag exists (holding this digest): left as it is.
    Skipped { holds: String },
}

/// Why the tags cannot be applied: nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetagRefusal {
    /// Immutable tags that hold other images: (tag, the digest it holds).
    ImmutableTaken(Vec<(String, String)>),
}

impl std::fmt::Display for RetagRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetagRefusal::ImmutableTaken(taken) => {
                let list: Vec<String> = taken
                    .iter()
                    .map(|(tag, digest)| format!("{tag} (holds {digest})"))
                    .collect();
                write!(
                    f,
                    "tag{} {} already exist{} in this immutable repository and hold{} another image: ECR will not move {}",
                    if taken.len() == 1 { "" } else { "s" },
                    list.join(", "),
                    if taken.len() == 1 { "s" } else { "" },
                    if taken.len() == 1 { "s" } else { "" },
                    if taken.len() == 1 { "it" } else { "them" },
                )
            }
        }
    }
}

/// The repository's tag settings, as DescribeRepositories reports them.
#[derive(Debug, Clone, Copy)]
pub struct Mutability<'a> {
    pub setting: &'a str,
    pub exclusion_filters: &'a [String],
}

/// Decides every target tag against the tags the repository holds (`existing`: tag → digest).
/// All immutable conflicts are reported together, so one run shows everything to fix.
pub fn plan_tags(
    targets: &[String],
    digest: &str,
    existing: &BTreeMap<String, String>,
    mutability: Mutability<'_>,
    skip_when_tags_exist: bool,
) -> Result<Vec<(String, TagAction)>, RetagRefusal> {
    let mut actions = Vec::new();
    let mut taken = Vec::new();
    for tag in targets {
        let action = match existing.get(tag) {
            None => TagAction::Add,
            Some(held) if held == digest => TagAction::Unchanged,
            Some(held) if skip_when_tags_exist => TagAction::Skipped {
                holds: held.clone(),
            },
            Some(held)
                if tag_is_immutable(mutability.setting, mutability.exclusion_filters, tag) =>
            {
                taken.push((tag.clone(), held.clone()));
                continue;
            }
            Some(held) => TagAction::Move { from: held.clone() },
        };
        actions.push((tag.clone(), action));
    }
    if taken.is_empty() {
        Ok(actions)
    } else {
        Err(RetagRefusal::ImmutableTaken(taken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const OTHER: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn tags(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn existing() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("abc123".to_string(), SOURCE.to_string()),
            ("production".to_string(), OTHER.to_string()),
            ("staging".to_string(), SOURCE.to_string()),
        ])
    }

    const MUTABLE: Mutability = Mutability {
        setting: "MUTABLE",
        exclusion_filters: &[],
    };

    #[test]
    fn promotion_in_a_mutable_repository_adds_moves_and_leaves_alone() {
        let actions = plan_tags(
            &tags(&["production", "staging", "v1.2.0"]),
            SOURCE,
            &existing(),
            MUTABLE,
            false,
        )
        .unwrap();
        assert_eq!(
            actions,
            vec![
                (
                    "production".to_string(),
                    TagAction::Move {
                        from: OTHER.to_string()
                    }
                ),
                ("staging".to_string(), TagAction::Unchanged),
                ("v1.2.0".to_string(), TagAction::Add),
            ]
        );
    }

    #[test]
    fn an_immutable_tag_holding_another_image_refuses_everything() {
        let refusal = plan_tags(
            &tags(&["v1.2.0", "production", "staging"]),
            SOURCE,
            &existing(),
            Mutability {
                setting: "IMMUTABLE",
                exclusion_filters: &[],
            },
            false,
        )
        .unwrap_err();
        assert_eq!(
            refusal,
            RetagRefusal::ImmutableTaken(vec![("production".to_string(), OTHER.to_string())])
        );
        assert!(refusal
            .to_string()
            .starts_with("tag production (holds sha256:2222"));
    }

    #[test]
    fn exclusion_filters_let_matching_tags_move() {
        let filters = tags(&["prod*"]);
        let actions = plan_tags(
            &tags(&["production"]),
            SOURCE,
            &existing(),
            Mutability {
                setting: "IMMUTABLE_WITH_EXCLUSION",
                exclusion_filters: &filters,
            },
            false,
        )
        .unwrap();
        assert!(matches!(actions[0].1, TagAction::Move { .. }));
        let refusal = plan_tags(
            &tags(&["production"]),
            SOURCE,
            &existing(),
            Mutability {
                setting: "MUTABLE_WITH_EXCLUSION",
                exclusion_filters: &filters,
            },
            false,
        );
        assert!(refusal.is_err());
    }

    #[test]
    fn skip_when_tags_exist_leaves_every_existing_tag() {
        let actions = plan_tags(
            &tags(&["production", "staging", "new"]),
            SOURCE,
            &existing(),
            Mutability {
                setting: "IMMUTABLE",
                exclusion_filters: &[],
            },
            true,
        )
        .unwrap();
        assert_eq!(
            actions,
            vec![
                (
                    "production".to_string(),
                    TagAction::Skipped {
                        holds: OTHER.to_string()
                    }
                ),
                ("staging".to_string(), TagAction::Unchanged),
                ("new".to_string(), TagAction::Add),
            ]
        );
    }
}
