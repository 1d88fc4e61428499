//! `.dockerignore` with Docker's semantics (moby's patternmatcher): patterns are cleaned paths
//! relative to the context root, `*` and `?` stay within one path component, `**` spans any
//! number of them, `!` re-includes, the last matching pattern wins, and a pattern that matches
//! a directory excludes everything below it.
use regex::Regex;

/// One compiled line of a `.dockerignore`.
#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    regex: Regex,
    exclusion: bool,
}

/// The patterns of one `.dockerignore` file, in order.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
    always_included: Vec<String>,
}

impl IgnoreRules {
    /// Parses the file's text. Comments (`#` first) and blank lines are skipped, a lone `!` is
    /// an error, and a UTF-8 byte-order mark before the first line is dropped (editors on
    /// Windows write one; the Docker CLI ignores it too).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let mut line = line.trim();
            if line.is_empty() {
                continue;
            }
            let exclusion = line.starts_with('!');
            if exclusion {
                line = line[1..].trim();
                if line.is_empty() {
                    return Err(format!("line {}: a lone '!' is not a pattern", index + 1));
                }
            }
            let cleaned = clean_path(line);
            let cleaned = match cleaned.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => cleaned,
            };
            let regex = compile(&cleaned)
                .map_err(|e| format!("line {}: pattern {line:?}: {e}", index + 1))?;
            patterns.push(Pattern {
                source: cleaned,
                regex,
                exclusion,
            });
        }
        Ok(IgnoreRules {
            patterns,
            always_included: Vec::new(),
        })
    }

    /// Adds patterns that keep a path in the context whatever the file says (the Dockerfile and
    /// `.dockerignore` itself are always sent, as the Docker CLI does).
    pub fn always_include(&mut self, path: &str) {
        self.always_included.push(clean_path(path));
    }

    /// Whether any `!` pattern exists: then excluded directories must still be walked.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|pattern| pattern.exclusion)
    }

    /// Whether an excluded directory may still hold something sent: a `!` pattern may bring
    /// part of it back, or an always-included path (a Dockerfile in `docker/`) lies below it.
    pub fn may_include_below(&self, directory: &str) -> bool {
        self.has_exclusions()
            || self.always_included.iter().any(|kept| {
                kept.strip_prefix(directory)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        if self.always_included.iter().any(|kept| kept == path) {
            return false;
        }
        let parents: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // An inclusion can only change an unmatched path, an exclusion a matched one.
            if pattern.exclusion != excluded {
                continue;
            }
            let mut matched = pattern.regex.is_match(path);
            if !matched && parents.len() > 1 {
                for depth in 1..parents.len() {
                    if pattern.regex.is_match(&parents[..depth].join("/")) {
                        matched = true;
                        break;
                    }
                }
            }
            if matched {
                excluded = !pattern.exclusion;
            }
        }
        excluded
    }

    /// The patterns as cleaned, for messages.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|pattern| pattern.source.as_str())
    }
}

/// Lexical cleaning as Go's `filepath.Clean`: drops `.` and empty components, resolves `..`.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Translates one pattern into an anchored regex with patternmatcher's rules.
fn compile(pattern: &str) -> Result<Regex, String> {
    let mut regex = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut index = 0;
    let mut in_class = false;
    while index < chars.len() {
        let ch = chars[index];
        if in_class {
            match ch {
                ']' => {
                    in_class = false;
                    regex.push(']');
                }
                '\\' => {
                    index += 1;
                    let escaped = chars.get(index).ok_or("a trailing '\\' escapes nothing")?;
                    regex.push_str(&regex::escape(&escaped.to_string()));
                }
                '[' | '&' | '~' => {
                    regex.push('\\');
                    regex.push(ch);
                }
                _ => regex.push(ch),
            }
            index += 1;
            continue;
        }
        match ch {
            '*' if chars.get(index + 1) == Some(&'*') => {
                index += 1;
                if chars.get(index + 1) == Some(&'/') {
                    index += 1;
                }
                if index + 1 >= chars.len() {
                    regex.push_str(".*");
                } else {
                    regex.push_str("(?:.*/)?");
                }
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            '[' => {
                in_class = true;
                regex.push('[');
                if chars.get(index + 1) == Some(&'^') || chars.get(index + 1) == Some(&'!') {
                    index += 1;
                    regex.push('^');
                }
            }
            '\\' => {
                index += 1;
                let escaped = chars.get(index).ok_or("a trailing '\\' escapes nothing")?;
                regex.push_str(&regex::escape(&escaped.to_string()));
            }
            other => regex.push_str(&regex::escape(&other.to_string())),
        }
        index += 1;
    }
    if in_class {
        return Err("a '[' is never closed".into());
    }
    regex.push('$');
    Regex::new(&regex).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    #[test]
    fn plain_names_match_at_the_root_only_and_cover_directories() {
        let rules = rules("node_modules\nsecret.txt\n");
        assert!(rules.is_excluded("node_modules"));
        assert!(rules.is_excluded("node_modules/a/b.js"));
        assert!(rules.is_excluded("secret.txt"));
        assert!(!rules.is_excluded("app/secret.txt"));
        assert!(!rules.is_excluded("src/node_modules"));
    }

    #[test]
    fn single_star_stays_in_one_component() {
        let rules = rules("*.log\n*/temp*\n");
        assert!(rules.is_excluded("debug.log"));
        assert!(!rules.is_excluded("logs/debug.log"));
        assert!(rules.is_excluded("somedir/temporary.txt"));
        assert!(rules.is_excluded("somedir/temp"));
        assert!(!rules.is_excluded("a/b/temp"));
    }

    #[test]
    fn double_star_spans_directories() {
        let rules = rules("**/*.go\ndocs/**\n");
        assert!(rules.is_excluded("main.go"));
        assert!(rules.is_excluded("a/b/c/main.go"));
        assert!(rules.is_excluded("docs/x/y.md"));
        assert!(!rules.is_excluded("docs"));
        assert!(!rules.is_excluded("src/main.rs"));
    }

    #[test]
    fn exceptions_and_last_match_wins() {
        let rules = rules("*.md\n!README.md\nREADME-secret.md\n");
        assert!(rules.is_excluded("CHANGES.md"));
        assert!(!rules.is_excluded("README.md"));
        assert!(rules.is_excluded("README-secret.md"));
        let reexcluded = IgnoreRules::parse("*.md\n!README*.md\nREADME-secret.md\n").unwrap();
        assert!(!reexcluded.is_excluded("README-public.md"));
        assert!(reexcluded.is_excluded("README-secret.md"));
        assert!(reexcluded.has_exclusions());
    }

    #[test]
    fn comments_blank_lines_and_cleaning() {
        let rules = rules("# a comment\n\n  ./build/  \n/dist\nfoo/../bar\n");
        assert!(rules.is_excluded("build/out.o"));
        assert!(rules.is_excluded("dist"));
        assert!(rules.is_excluded("bar"));
        assert!(!rules.is_excluded("# a comment"));
        assert_eq!(
            rules.sources().collect::<Vec<_>>(),
            ["build", "dist", "bar"]
        );
    }

    #[test]
    fn question_marks_classes_and_escapes() {
        let rules = rules("file?.txt\n[abc].bin\n[!x]y\n\\*star\n");
        assert!(rules.is_excluded("file1.txt"));
        assert!(!rules.is_excluded("file10.txt"));
        assert!(rules.is_excluded("b.bin"));
        assert!(!rules.is_excluded("d.bin"));
        assert!(rules.is_excluded("zy"));
        assert!(!rules.is_excluded("xy"));
        assert!(rules.is_excluded("*star"));
        assert!(!rules.is_excluded("astar"));
    }

    #[test]
    fn always_include_beats_the_file() {
        let mut rules = rules("*\n");
        rules.always_include("Dockerfile");
        rules.always_include(".dockerignore");
        assert!(!rules.is_excluded("Dockerfile"));
        assert!(!rules.is_excluded(".dockerignore"));
        assert!(rules.is_excluded("src"));
    }

    #[test]
    fn an_always_included_path_inside_an_excluded_directory_is_reached() {
        let mut rules = rules("docker\n");
        rules.always_include("docker/Dockerfile.web");
        assert!(rules.is_excluded("docker"));
        assert!(rules.is_excluded("docker/secrets.env"));
        assert!(!rules.is_excluded("docker/Dockerfile.web"));
        assert!(rules.may_include_below("docker"));
        assert!(!rules.may_include_below("dock"));
        assert!(!rules.may_include_below("docker/Dockerfile.web"));
        assert!(!rules.may_include_below("other"));
        assert!(IgnoreRules::parse("a\n!a/b\n")
            .unwrap()
            .may_include_below("a"));
    }

    #[test]
    fn a_byte_order_mark_before_the_first_pattern_is_dropped() {
        let rules = rules("\u{feff}secret.env\nnode_modules\n");
        assert!(rules.is_excluded("secret.env"));
        assert!(rules.is_excluded("node_modules/x.js"));
        assert_eq!(
            rules.sources().collect::<Vec<_>>(),
            ["secret.env", "node_modules"]
        );
        // Only at the very start: elsewhere it is part of the name, as in the Docker CLI.
        let later = IgnoreRules::parse("a\n\u{feff}b\n").unwrap();
        assert!(!later.is_excluded("b"));
        assert!(later.is_excluded("\u{feff}b"));
        // A BOM before a comment leaves the comment a comment.
        let comment = IgnoreRules::parse("\u{feff}# notes\nbuild\n").unwrap();
        assert_eq!(comment.sources().collect::<Vec<_>>(), ["build"]);
    }

    #[test]
    fn malformed_patterns_are_reported_with_their_line() {
        let error = IgnoreRules::parse("ok\n[abc\n").unwrap_err();
        assert!(error.starts_with("line 2"), "{error}");
        assert!(IgnoreRules::parse("!\n").is_err());
    }
}
