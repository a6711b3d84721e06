//! Interval triggers: a grid of instants `anchor + k × period`.

use jiff::Timestamp;

/// The first grid point `anchor + k × period_seconds` (k any integer)
/// strictly after `after`. A zero period is treated as one second.
pub fn every_next_after(anchor: Timestamp, period_seconds: u64, after: Timestamp) -> Timestamp {
    let period = i128::from(period_seconds.max(1)) * 1_000_000_000;
    let a = anchor.as_nanosecond();
    let x = after.as_nanosecond();
    let k = (x - a).div_euclid(period) + 1;
    let n = a + k * period;
    Timestamp::from_nanosecond(n).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn grid_points_are_strictly_after() {
        let a = ts("2026-01-01T00:00:00Z");
        assert_eq!(
            every_next_after(a, 60, ts("2026-01-01T00:00:00Z")),
            ts("2026-01-01T00:01:00Z")
        );
        assert_eq!(
            every_next_after(a, 60, ts("2026-01-01T00:00:59Z")),
            ts("2026-01-01T00:01:00Z")
        );
        assert_eq!(
            every_next_after(a, 3600, ts("2026-01-01T05:30:00Z")),
            ts("2026-01-01T06:00:00Z")
        );
    }

    #[test]
    fn anchor_in_the_future_extends_the_grid_backwards() {
        let a = ts("2026-06-01T00:15:00Z");
        assert_eq!(
            every_next_after(a, 3600, ts("2026-01-01T00:00:00Z")),
            ts("2026-01-01T00:15:00Z")
        );
    }
}
