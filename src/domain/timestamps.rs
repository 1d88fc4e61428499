//! Timestamps as ECS sends them (epoch seconds) and as the AWS CLI prints them (RFC 3339, any
//! offset, up to nine fractional digits), read as epoch seconds and shown as RFC 3339 UTC.
use serde_json::Value;

use super::rollout::parse_timestamp;

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
}
