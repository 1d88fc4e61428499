//! The lines `--export-env` appends for later CI steps. CircleCI sources `$BASH_ENV` with bash
//! before each step, so only `export KEY='value'` reaches the programs a step starts; GitHub
//! Actions parses `$GITHUB_ENV` itself, with its own `KEY=value` and `KEY<<DELIMITER` syntax.

/// Who reads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportSyntax {
    /// A file bash sources (CircleCI's `$BASH_ENV`, or any shell script).
    Bash,
    /// GitHub Actions' `$GITHUB_ENV`.
    GithubEnv,
}

/// The text to append: one variable per line (a value with a newline spans several).
pub fn export_lines(syntax: ExportSyntax, pairs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (key, value) in pairs {
        match syntax {
            ExportSyntax::Bash => {
                text.push_str(&format!("export {key}={}\n", single_quoted(value)));
            }
            ExportSyntax::GithubEnv if value.contains(['\n', '\r']) => {
                let delimiter = delimiter_for(value);
                text.push_str(&format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"));
            }
            ExportSyntax::GithubEnv => text.push_str(&format!("{key}={value}\n")),
        }
    }
    text
}

/// `value` as one bash word that expands to nothing else: single quotes keep `$`, `` ` ``, `\`,
/// `"`, blanks and newlines literally; a single quote closes, is escaped, and reopens.
fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A heredoc delimiter that is no line of `value` (GitHub ends the value at the first such line).
fn delimiter_for(value: &str) -> String {
    let lines: Vec<&str> = value.lines().map(|l| l.trim_end_matches('\r')).collect();
    (0..)
        .map(|n| match n {
            0 => "DEPLOYER_EOF".to_string(),
            n => format!("DEPLOYER_EOF_{n}"),
        })
        .find(|candidate| !lines.contains(&candidate.as_str()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWKWARD: &str = "it's \"quoted\" $HOME `date` \\n\nsecond line";

    #[test]
    fn bash_lines_export_single_quoted_values() {
        let text = export_lines(
            ExportSyntax::Bash,
            &[
                ("DEPLOYER_IMAGE", "repo@sha256:abc".to_string()),
                ("DEPLOYER_CLUSTER", AWKWARD.to_string()),
                ("DEPLOYER_SERVICE", String::new()),
            ],
        );
        assert_eq!(
            text,
            "export DEPLOYER_IMAGE='repo@sha256:abc'\n\
             export DEPLOYER_CLUSTER='it'\\''s \"quoted\" $HOME `date` \\n\nsecond line'\n\
             export DEPLOYER_SERVICE=''\n"
        );
    }

    #[test]
    fn github_lines_use_a_delimiter_only_for_multiline_values() {
        let text = export_lines(
            ExportSyntax::GithubEnv,
            &[
                ("DEPLOYER_IMAGE", "repo@sha256:abc".to_string()),
                ("DEPLOYER_CLUSTER", AWKWARD.to_string()),
            ],
        );
        assert_eq!(
            text,
            format!(
                "DEPLOYER_IMAGE=repo@sha256:abc\nDEPLOYER_CLUSTER<<DEPLOYER_EOF\n{AWKWARD}\nDEPLOYER_EOF\n"
            )
        );
    }

    #[test]
    fn the_delimiter_is_never_a_line_of_the_value() {
        let value = "a\nDEPLOYER_EOF\nDEPLOYER_EOF_1\nb".to_string();
        let text = export_lines(ExportSyntax::GithubEnv, &[("K", value.clone())]);
        assert_eq!(
            text,
            format!("K<<DEPLOYER_EOF_2\n{value}\nDEPLOYER_EOF_2\n")
        );
        // A line that merely contains the delimiter does not end the value.
        assert_eq!(delimiter_for("xDEPLOYER_EOF\n"), "DEPLOYER_EOF");
    }
}
