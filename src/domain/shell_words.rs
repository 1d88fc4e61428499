//! Words split as a POSIX shell splits a command line, with nothing expanded: the one splitter
//! behind run-task's `--command` and list shorthands and the orb's `extra_build_args` and
//! `extra_args`, so a value means the same wherever deployer reads words.
use std::fmt;

/// Why a line cannot be split: a quote or an escape left open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellWordsError {
    SingleQuoteNotClosed,
    DoubleQuoteNotClosed,
    LoneBackslash,
}

impl fmt::Display for ShellWordsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShellWordsError::SingleQuoteNotClosed => "a single quote is not closed",
            ShellWordsError::DoubleQuoteNotClosed => "a double quote is not closed",
            ShellWordsError::LoneBackslash => "it ends with a lone backslash",
        })
    }
}

impl std::error::Error for ShellWordsError {}

/// Splits a line into words as a POSIX shell does (sh's token recognition, XCU 2.3 and 2.2),
/// without expansions: blanks (space, tab) and newlines separate words; single quotes keep
/// everything literally, a backslash and a newline included; double quotes keep blanks and
/// honour `\"`, `\\`, `\$` and `` \` `` (another backslash stays); outside quotes a backslash
/// keeps the next character literally. A backslash-newline, outside quotes or inside double
/// quotes, is a line continuation: both are removed, so a folded YAML block or a multi-line
/// command reads as one line. `''` is one empty word.
pub fn split_words(line: &str) -> Result<Vec<String>, ShellWordsError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(ShellWordsError::SingleQuoteNotClosed),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(ShellWordsError::DoubleQuoteNotClosed),
                        },
                        Some(c) => word.push(c),
                        None => return Err(ShellWordsError::DoubleQuoteNotClosed),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err(ShellWordsError::LoneBackslash),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_words(line).unwrap()
    }

    #[test]
    fn build_flags_split_as_the_orb_reads_them() {
        assert_eq!(
            words("--build-arg A=1 \\\n --label 'org.title=a b' --build-arg \"B=x \\\"y\\\"\""),
            [
                "--build-arg",
                "A=1",
                "--label",
                "org.title=a b",
                "--build-arg",
                "B=x \"y\""
            ]
        );
        assert_eq!(words("  \n "), Vec::<String>::new());
        assert_eq!(words("''"), [""]);
        assert_eq!(
            split_words("--label 'open"),
            Err(ShellWordsError::SingleQuoteNotClosed)
        );
        assert_eq!(
            split_words("--label \"open"),
            Err(ShellWordsError::DoubleQuoteNotClosed)
        );
    }

    #[test]
    fn commands_split_as_run_task_reads_them() {
        assert_eq!(
            words(r#"sh -c 'echo "migrated $VERSION" && exit 3'"#),
            ["sh", "-c", r#"echo "migrated $VERSION" && exit 3"#]
        );
        assert_eq!(
            words(r#"./migrate --to "v 2" a\ b "q\"uote""#),
            ["./migrate", "--to", "v 2", "a b", "q\"uote"]
        );
        assert_eq!(words("''"), [""]);
        assert_eq!(
            split_words("echo 'open"),
            Err(ShellWordsError::SingleQuoteNotClosed)
        );
        assert_eq!(words("   "), Vec::<String>::new());
    }

    #[test]
    fn a_backslash_newline_continues_the_line_except_in_single_quotes() {
        // Outside quotes: removed, and no word of its own.
        assert_eq!(words("a\\\nb"), ["ab"]);
        assert_eq!(words("a \\\n b"), ["a", "b"]);
        assert_eq!(words("\\\n"), Vec::<String>::new());
        // Inside double quotes: removed too.
        assert_eq!(words("\"a\\\nb\""), ["ab"]);
        // Inside single quotes: literal.
        assert_eq!(words("'a\\\nb'"), ["a\\\nb"]);
    }

    #[test]
    fn backslashes_escape_as_in_sh() {
        assert_eq!(words(r"a\ b \'c\' \\"), ["a b", "'c'", "\\"]);
        // In double quotes only ", \, $ and ` are escaped; another backslash stays.
        assert_eq!(words(r#""\$HOME \`x\` \n""#), ["$HOME `x` \\n"]);
        assert_eq!(words(r"'\n'"), ["\\n"]);
        assert_eq!(split_words("end\\"), Err(ShellWordsError::LoneBackslash));
        assert_eq!(
            split_words("\"end\\"),
            Err(ShellWordsError::DoubleQuoteNotClosed)
        );
    }

    #[test]
    fn blanks_and_newlines_separate_words_and_nothing_else_does() {
        assert_eq!(words("a\tb\nc  d"), ["a", "b", "c", "d"]);
        // A carriage return is part of a word, as in sh.
        assert_eq!(words("a\r b"), ["a\r", "b"]);
        assert_eq!(words("x''y \"\"z"), ["xy", "z"]);
    }
}
