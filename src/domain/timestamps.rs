//! Timestamps as ECS sends them (epoch seconds) and as the AWS CLI prints them (RFC 3339, any
//! offset, up to nine fractional digits), read as epoch seconds and shown as RFC 3339 UTC.
use serde_json::Value;

/// A timestamp as epoch seconds or RFC 3339 text, shown as RFC 3339 UTC.
pub fn timestamp_text(value: &Value) -> Option<String> {
    let seconds = timestamp_seconds(value)?;
    let whole = seconds.floor() as i64;
    let days = whole.div_euclid(86_400);
    let clock = whole.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        clock / 3600,
        clock % 3600 / 60,
        clock % 60
    ))
}

/// Seconds since the Unix epoch and nanoseconds of an RFC 3339 time such as
/// `2026-11-24T10:00:05.123456+00:00` or `2026-11-24T10:00:05Z`. Compared as text, times with and
/// without fractions or with other offsets would sort wrongly.
pub fn parse_timestamp(text: &str) -> Option<(i64, u32)> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: i64 = date_parts.next()?.parse().ok()?;
    let day: i64 = date_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset_seconds) = match time.strip_suffix(['Z', 'z']) {
        Some(clock) => (clock, 0),
        None => {
            let sign_at = time.rfind(['+', '-'])?;
            let (clock, offset) = time.split_at(sign_at);
            let (hours, minutes) = offset[1..].split_once(':')?;
            let magnitude = hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60;
            (
                clock,
                if offset.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                },
            )
        }
    };
    let (whole, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut clock_parts = whole.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next()?.parse().ok()?;
    let second: i64 = clock_parts.next()?.parse().ok()?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let nanoseconds = format!("{:0<9}", &fraction[..fraction.len().min(9)])
        .parse()
        .ok()?;
    // Days from the civil date (Howard Hinnant's algorithm), years starting in March.
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some((seconds, nanoseconds))
}

/// Epoch seconds of a timestamp ECS sent as a number, or the AWS CLI printed as text.
pub fn timestamp_seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => {
            let (seconds, nanos) = parse_timestamp(text)?;
            Some(seconds as f64 + f64::from(nanos) / 1e9)
        }
        _ => None,
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_text_read_alike_and_show_as_utc() {
        assert_eq!(
            timestamp_seconds(&json!(1_730_376_210.917)),
            Some(1_730_376_210.917)
        );
        assert_eq!(
            timestamp_seconds(&json!("2024-10-31T08:03:30.917000-04:00")),
            Some(1_730_376_210.917)
        );
        assert_eq!(
            timestamp_text(&json!(1_730_376_210.917)).as_deref(),
            Some("2024-10-31T12:03:30Z")
        );
        assert_eq!(timestamp_seconds(&json!(null)), None);
    }

    #[test]
    fn timestamps_compare_as_times_not_text() {
        let utc = parse_timestamp("2026-11-24T10:00:00Z").unwrap();
        assert_eq!(utc, (1_795_514_400, 0));
        assert_eq!(
            parse_timestamp("2026-11-24T10:00:00.000000+00:00"),
            Some(utc)
        );
        assert_eq!(parse_timestamp("2026-11-24T11:00:00+01:00"), Some(utc));
        assert!(parse_timestamp("2026-11-24T10:00:00.5Z").unwrap() > utc);
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_timestamp("2024-02-29T00:00:00Z"),
            Some((1_709_164_800, 0))
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-01T00:00:00Z"), None);
    }
}
