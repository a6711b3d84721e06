//! Mapping a local date-time to instants under a DST policy.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};

use super::civil::local_seconds;

/// What a local time inside a DST gap (spring forward) does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GapPolicy {
    /// Runs at the same offset-shifted instant (02:30 → 03:30 after a 1 h gap).
    #[default]
    Shift,
    /// Does not run.
    Skip,
}

/// What a local time repeated by a DST overlap (fall back) does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlapPolicy {
    /// Runs once, at the first (earlier) instant.
    #[default]
    First,
    /// Runs at both instants.
    Both,
}

/// DST handling of a calendar trigger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DstPolicy {
    /// Local times in a gap.
    pub gap: GapPolicy,
    /// Local times in an overlap.
    pub overlap: OverlapPolicy,
}

fn instant(local: i64, offset_seconds: i32) -> Option<Timestamp> {
    Timestamp::from_second(local - i64::from(offset_seconds)).ok()
}

/// The instants at which local time `dt` in `tz` runs under `policy`,
/// ascending: one normally, none for a skipped gap, two for `overlap: both`.
pub fn resolve_local(dt: DateTime, tz: &TimeZone, policy: DstPolicy) -> Vec<Timestamp> {
    let local = local_seconds(dt);
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            instant(local, offset.seconds()).into_iter().collect()
        }
        AmbiguousOffset::Gap { before, .. } => match policy.gap {
            // Interpreted with the offset in force before the gap: the
            // instant lands after the gap by the gap's length.
            GapPolicy::Shift => instant(local, before.seconds()).into_iter().collect(),
            GapPolicy::Skip => Vec::new(),
        },
        AmbiguousOffset::Fold { before, after } => {
            let first = instant(local, before.seconds());
            match policy.overlap {
                OverlapPolicy::First => first.into_iter().collect(),
                OverlapPolicy::Both => first
                    .into_iter()
                    .chain(instant(local, after.seconds()))
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::datetime;

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn dst_gap_moves_run_forward() {
        let got = resolve_local(
            datetime(2026, 3, 8, 2, 30, 0, 0),
            &ny(),
            DstPolicy::default(),
        );
        assert_eq!(got, vec![ts("2026-03-08T07:30:00Z")], "03:30 EDT");
    }

    #[test]
    fn gap_skip_policy_drops_run() {
        let p = DstPolicy {
            gap: GapPolicy::Skip,
            ..DstPolicy::default()
        };
        assert!(resolve_local(datetime(2026, 3, 8, 2, 30, 0, 0), &ny(), p).is_empty());
    }

    #[test]
    fn overlap_runs_once_at_first_occurrence() {
        let got = resolve_local(
            datetime(2026, 11, 1, 1, 30, 0, 0),
            &ny(),
            DstPolicy::default(),
        );
        assert_eq!(got, vec![ts("2026-11-01T05:30:00Z")], "01:30 EDT");
    }

    #[test]
    fn overlap_both_runs_twice() {
        let p = DstPolicy {
            overlap: OverlapPolicy::Both,
            ..DstPolicy::default()
        };
        let got = resolve_local(datetime(2026, 11, 1, 1, 30, 0, 0), &ny(), p);
        assert_eq!(
            got,
            vec![ts("2026-11-01T05:30:00Z"), ts("2026-11-01T06:30:00Z")]
        );
    }

    #[test]
    fn half_hour_dst_of_lord_howe() {
        // Lord Howe moves 30 minutes: 02:00 → 02:30 on 4 October 2026.
        let tz = TimeZone::get("Australia/Lord_Howe").unwrap();
        let got = resolve_local(
            datetime(2026, 10, 4, 2, 15, 0, 0),
            &tz,
            DstPolicy::default(),
        );
        assert_eq!(got, vec![ts("2026-10-03T15:45:00Z")], "02:45 +11:00");
    }

    #[test]
    fn ordinary_times_map_once() {
        let london = TimeZone::get("Europe/London").unwrap();
        let got = resolve_local(
            datetime(2026, 7, 1, 12, 0, 0, 0),
            &london,
            DstPolicy::default(),
        );
        assert_eq!(got, vec![ts("2026-07-01T11:00:00Z")]);
    }
}
