//! The old aws-ecr orb versions an alias invocation may come from (`aws-ecr@6-8.2`): one old
//! name served versions that did different things, and deployer keeps what they did (or says
//! where it does not) only where it knows which versions are in question.
use std::fmt;

/// A range of an old orb's versions, by major and minor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldOrb {
    pub orb: String,
    pub from: (u32, u32),
    pub to: (u32, u32),
}

impl OldOrb {
    /// Parses `ORB@FROM-TO`, each end `MAJOR` or `MAJOR.MINOR` (`aws-ecr@0-8.2`); a bare major
    /// at the end means all its minors.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!("{text:?} is not an old orb's version range: expected ORB@FROM-TO, e.g. aws-ecr@6-8.2")
        };
        let (orb, range) = text.trim().split_once('@').ok_or_else(bad)?;
        let (from, to) = range.split_once('-').ok_or_else(bad)?;
        let version = |end: &str, last: bool| -> Result<(u32, u32), String> {
            let (major, minor) = match end.split_once('.') {
                Some((major, minor)) => (major, Some(minor)),
                None => (end, None),
            };
            let major = major.parse().map_err(|_| bad())?;
            let minor = match minor {
                Some(minor) => minor.parse().map_err(|_| bad())?,
                None if last => u32::MAX,
                None => 0,
            };
            Ok((major, minor))
        };
        if orb.is_empty() {
            return Err(bad());
        }
        Ok(OldOrb {
            orb: orb.to_string(),
            from: version(from, false)?,
            to: version(to, true)?,
        })
    }

    /// Whether any version from `from` to `to` (majors and minors, inclusive) is in the range.
    pub fn overlaps(&self, orb: &str, from: (u32, u32), to: (u32, u32)) -> bool {
        self.orb == orb && from <= self.to && self.from <= to
    }
}

impl fmt::Display for OldOrb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = |(major, minor): (u32, u32)| match minor {
            u32::MAX => format!("{major}.x"),
            minor => format!("{major}.{minor}"),
        };
        write!(f, "{} {} to {}", self.orb, end(self.from), end(self.to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_overlap_by_major_and_minor() {
        let kebab = OldOrb::parse("aws-ecr@6-8.2").unwrap();
        assert_eq!(kebab.from, (6, 0));
        assert_eq!(kebab.to, (8, 2));
        assert!(kebab.overlaps("aws-ecr", (8, 0), (8, 1)));
        assert!(kebab.overlaps("aws-ecr", (7, 0), (7, u32::MAX)));
        assert!(!kebab.overlaps("aws-ecr", (9, 0), (9, u32::MAX)));
        assert!(!kebab.overlaps("aws-ecs", (8, 0), (8, 1)));
        assert!(!OldOrb::parse("aws-ecr@8.2-8.2")
            .unwrap()
            .overlaps("aws-ecr", (8, 0), (8, 1)));
        assert_eq!(
            OldOrb::parse("aws-ecr@0-7").unwrap().to_string(),
            "aws-ecr 0.0 to 7.x"
        );
        for bad in ["", "aws-ecr", "aws-ecr@6", "@6-8", "aws-ecr@x-8"] {
            assert!(OldOrb::parse(bad).is_err(), "{bad}");
        }
    }
}
