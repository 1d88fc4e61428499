//! The old aws-ecr orb versions an alias invocation may come from (`aws-ecr@6-8.2`, or several
//! ranges: `aws-ecr@0-5,9-9`): one old name served versions that did different things, and
//! deployer keeps what they did (or says where it does not) only where it knows which versions
//! are in question.
use std::fmt;

/// Ranges of an old orb's versions, by major and minor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldOrb {
    pub orb: String,
    pub ranges: Vec<((u32, u32), (u32, u32))>,
}

impl OldOrb {
    /// Parses `ORB@FROM-TO[,FROM-TO...]`, each end `MAJOR` or `MAJOR.MINOR` (`aws-ecr@0-8.2`);
    /// a bare major at the end means all its minors.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!("{text:?} is not an old orb's version range: expected ORB@FROM-TO, e.g. aws-ecr@6-8.2")
        };
        let (orb, ranges) = text.trim().split_once('@').ok_or_else(bad)?;
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
        let ranges = ranges
            .split(',')
            .map(|range| {
                let (from, to) = range.trim().split_once('-').ok_or_else(bad)?;
                Ok((version(from, false)?, version(to, true)?))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(OldOrb {
            orb: orb.to_string(),
            ranges,
        })
    }

    /// Whether any version from `from` to `to` (majors and minors, inclusive) is in a range.
    pub fn overlaps(&self, orb: &str, from: (u32, u32), to: (u32, u32)) -> bool {
        self.orb == orb
            && self
                .ranges
                .iter()
                .any(|&(start, end)| from <= end && start <= to)
    }
}

impl fmt::Display for OldOrb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = |(major, minor): (u32, u32)| match minor {
            u32::MAX => format!("{major}.x"),
            minor => format!("{major}.{minor}"),
        };
        let ranges: Vec<String> = self
            .ranges
            .iter()
            .map(|&(from, to)| format!("{} to {}", end(from), end(to)))
            .collect();
        write!(f, "{} {}", self.orb, ranges.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_overlap_by_major_and_minor() {
        let kebab = OldOrb::parse("aws-ecr@6-8.2").unwrap();
        assert_eq!(kebab.ranges, [((6, 0), (8, 2))]);
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
        let merged = OldOrb::parse("aws-ecr@0-5,9-9").unwrap();
        assert!(merged.overlaps("aws-ecr", (9, 0), (9, 0)));
        assert!(!merged.overlaps("aws-ecr", (6, 0), (8, u32::MAX)));
        assert_eq!(merged.to_string(), "aws-ecr 0.0 to 5.x and 9.0 to 9.x");
        for bad in [
            "",
            "aws-ecr",
            "aws-ecr@6",
            "@6-8",
            "aws-ecr@x-8",
            "aws-ecr@0-5,",
        ] {
            assert!(OldOrb::parse(bad).is_err(), "{bad}");
        }
    }
}
