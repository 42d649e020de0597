//! Calendar arithmetic on naive local times, kept as plain integers for speed:
//! days since 1970-01-01 and seconds since 1970-01-01 00:00.
//!
//! Exports hold naive local times (DESIGN.md), so no time zone is ever applied.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The (year, month, day) of a day number; inverse of [`days_from_civil`].
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Number of days in a month, so that 31 February is refused.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A month as the integer `yyyymm` (e.g. 202503): sortable and cheap to group on.
pub fn month_key(days: i32) -> i32 {
    let (y, m, _) = civil_from_days(days);
    y * 100 + m as i32
}

/// ISO weekday, Monday = 1 … Sunday = 7.
pub fn weekday(days: i32) -> i32 {
    (days.rem_euclid(7) + 3) % 7 + 1
}

/// `2025-03` for 202503.
pub fn format_month(key: i32) -> String {
    format!("{:04}-{:02}", key / 100, key % 100)
}

/// Parses `YYYY-MM` into a month key.
pub fn parse_month_arg(s: &str) -> Option<i32> {
    let (y, m) = s.trim().split_once('-')?;
    let y: i32 = y.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    ((1..=12).contains(&m) && (1900..=2200).contains(&y)).then_some(y * 100 + m)
}

/// Reads a month only in its one canonical spelling `YYYY-MM` (as URLs carry it), so that
/// one month has one address.
pub fn parse_month_canonical(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 7
        || b[4] != b'-'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
    {
        return None;
    }
    parse_month_arg(s)
}

/// The month after `key`.
pub fn next_month(key: i32) -> i32 {
    if key % 100 == 12 {
        key + 100 - 11
    } else {
        key + 1
    }
}

/// The month before `key`.
pub fn prev_month(key: i32) -> i32 {
    if key % 100 == 1 {
        key - 100 + 11
    } else {
        key - 1
    }
}

/// Last day (as day number) of the month `key`.
pub fn month_end_day(key: i32) -> i32 {
    let (y, m) = (key / 100, (key % 100) as u32);
    days_from_civil(y, m, days_in_month(y, m))
}

/// `2025-03-07` for a day number.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2025-03-07T09:30:00` for seconds since the epoch.
pub fn format_datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400) as i32;
    let rest = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}",
        format_date(days),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Today's date in local time, as a day number; the boundary for "in the future".
pub fn today() -> i32 {
    use chrono::Datelike;
    let now = chrono::Local::now().date_naive();
    days_from_civil(now.year(), now.month(), now.day())
}

/// The current local time, as seconds since the epoch (naive).
pub fn now_secs() -> i64 {
    let now = chrono::Local::now().naive_local();
    now.and_utc().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(civil_from_days(11017), (2000, 3, 1));
        // 2025-03-03 was a Monday, 2025-03-09 a Sunday.
        assert_eq!(weekday(days_from_civil(2025, 3, 3)), 1);
        assert_eq!(weekday(days_from_civil(2025, 3, 9)), 7);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(next_month(202512), 202601);
        assert_eq!(prev_month(202601), 202512);
    }

    #[test]
    fn roundtrip_many_days() {
        for z in -100_000..100_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
