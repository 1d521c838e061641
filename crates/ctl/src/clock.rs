//! Wall-clock timestamps in the two log formats etcdctl's libraries print:
//! zap's ISO 8601 (`2006-01-02T15:04:05.000Z`) and capnslog's
//! (`2006-01-02 15:04:05.000000`). Times are UTC.

use std::time::{SystemTime, UNIX_EPOCH};

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    micros: u32,
}

fn now() -> Civil {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        micros: since.subsec_micros(),
    }
}

/// zap's ISO 8601 timestamp with milliseconds.
pub fn zap_timestamp() -> String {
    let c = now();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.micros / 1000
    )
}

/// capnslog's timestamp with microseconds.
pub fn capnslog_timestamp() -> String {
    let c = now();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_the_go_layouts() {
        let z = zap_timestamp();
        assert_eq!(z.len(), "2006-01-02T15:04:05.000Z".len());
        assert_eq!((&z[4..5], &z[10..11], &z[19..20]), ("-", "T", "."));
        assert!(z.ends_with('Z') && z.starts_with("20"));
        let c = capnslog_timestamp();
        assert_eq!(c.len(), "2006-01-02 15:04:05.000000".len());
        assert_eq!(&c[10..11], " ");
    }
}
