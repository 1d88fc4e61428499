//! Durations as users type them in CI config: `90s`, `10m`, `1h30m`, `500ms`, or a bare number,
//! which is seconds. One grammar for every flag and orb parameter that takes a duration.
use std::time::Duration;

/// What every refusal says the accepted forms are.
const FORMS: &str = "use e.g. 90s, 10m, 1h30m or 500ms (a bare number is seconds)";

/// Parses a duration; the error names the value and the accepted forms.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let text = value.trim();
    let invalid = || format!("{value:?} is not a duration: {FORMS}");
    if text.is_empty() {
        return Err(invalid());
    }
    let too_long = || format!("{value:?} is too long a duration");
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 || rest[..digits].matches('.').count() > 1 {
            return Err(invalid());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_length = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_length] {
            // A bare number is seconds, and only alone: `1h30` is refused, not `1h30s`.
            "" if total.is_zero() && digits == text.len() => 1.0,
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_length..];
        let part =
            Duration::try_from_secs_f64(number * seconds_per_unit).map_err(|_| too_long())?;
        total = total.checked_add(part).ok_or_else(too_long)?;
    }
    Ok(total)
}

/// A duration that must be more than zero: a timeout or a poll interval.
pub fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    let duration = parse_duration(value)?;
    if duration.is_zero() {
        return Err(format!(
            "{value:?} is no time: give more than 0, e.g. 5s or 10m (a bare number is seconds)"
        ));
    }
    Ok(duration)
}

/// Prints a duration the way the log shows elapsed time: `45s`, `2m05s`.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 60 {
        format!("{}s", seconds)
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forms_users_type() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_everything_else_by_name() {
        for bad in [
            "", "m", "10x", "-5", "ten", "5 m", "s10", "1e3", "inf", "NaN", "1h30", "1..5s",
        ] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
            assert!(error.contains("a bare number is seconds"), "{error}");
        }
    }

    #[test]
    fn a_duration_too_long_for_a_clock_is_refused_not_a_crash() {
        for huge in [
            "1e300",
            "99999999999999999999999h",
            "18446744073709551615s1s",
        ] {
            assert!(parse_duration(huge).is_err(), "{huge}");
        }
    }

    #[test]
    fn timeouts_and_poll_intervals_must_be_more_than_zero() {
        for zero in ["0", "0s", "0m0s", "0.0"] {
            let error = parse_positive_duration(zero).unwrap_err();
            assert!(error.contains("give more than 0"), "{error}");
        }
        assert_eq!(
            parse_positive_duration("10").unwrap(),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn formats_elapsed_time() {
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }
}
