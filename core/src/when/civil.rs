//! Proleptic Gregorian day arithmetic on plain integers (fast, exact), and
//! conversions to and from jiff's civil types.

use jiff::civil::{Date, DateTime};

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday(days: i64) -> u8 {
    (days + 3).rem_euclid(7) as u8
}

pub(crate) fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(crate) fn month_len(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

pub(crate) fn year_len(y: i32) -> u32 {
    if is_leap(y) { 366 } else { 365 }
}

/// Seconds since 1970-01-01T00:00:00 of a civil date-time (no zone).
pub(crate) fn local_seconds(dt: DateTime) -> i64 {
    days_from_civil(i32::from(dt.year()), dt.month() as u32, dt.day() as u32) * 86_400
        + i64::from(dt.hour()) * 3600
        + i64::from(dt.minute()) * 60
        + i64::from(dt.second())
}

/// The civil date-time of local seconds; `None` outside jiff's range.
pub(crate) fn datetime_from_seconds(secs: i64) -> Option<DateTime> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let y = i16::try_from(y).ok()?;
    DateTime::new(
        y,
        m as i8,
        d as i8,
        (rem / 3600) as i8,
        (rem % 3600 / 60) as i8,
        (rem % 60) as i8,
        0,
    )
    .ok()
}

/// Day number of a jiff date.
pub(crate) fn days_of(d: Date) -> i64 {
    days_from_civil(i32::from(d.year()), d.month() as u32, d.day() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_and_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            weekday(days_from_civil(2026, 3, 8)),
            6,
            "8 March 2026 is a Sunday"
        );
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn month_and_year_lengths() {
        assert_eq!(month_len(2024, 2), 29);
        assert_eq!(month_len(1900, 2), 28);
        assert_eq!(month_len(2000, 2), 29);
        assert_eq!(year_len(2026), 365);
    }
}
