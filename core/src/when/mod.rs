//! Time rules: one-off instants, intervals and RFC 5545 calendar
//! recurrences in named zones; DST policy; deterministic jitter; daily
//! windows. Nothing here reads a clock: every function takes its instants.
//!
//! The contract (also `docs/time.md`):
//! * a calendar rule is expanded in local civil time from DTSTART, with the
//!   semantics of python-dateutil's `rrule` (the test oracle); local times
//!   are then mapped to instants by the [`DstPolicy`]: a local time in a DST
//!   gap runs at the offset-shifted instant (`gap: shift`, the default) or not
//!   at all (`skip`); a repeated local time runs at its first occurrence
//!   (`overlap: first`, the default) or at both (`both`);
//! * COUNT counts local-time instances, so a skipped gap time still counts;
//!   COUNT rules (at most 100 000) are expanded once, up front;
//! * UNTIL with `Z` is compared with the instant, without `Z` with the local
//!   time; a date-only UNTIL means midnight at its start (as dateutil does);
//! * BYDAY mixing plain days and ordinals matches either (RFC 5545 union);
//! * a rule that produces no occurrence within 400 years is rejected;
//!   BYWEEKNO is not supported (rejected with a clear error).

mod calendar;
mod civil;
mod dst;
mod every;
mod jitter;
mod rrule;
mod window;

use jiff::tz::TimeZone;

pub use calendar::{Budget, Calendar, DOCUMENT_BUDGET, Occurrence, SEARCH_BUDGET};
pub use dst::{DstPolicy, GapPolicy, OverlapPolicy, resolve_local};
pub use every::every_next_after;
pub use jitter::jitter_seconds;
pub use rrule::{Freq, MAX_COUNT, PARTS as RRULE_PARTS, RRule, Until};
pub use window::{Window, in_windows, next_window_open, window_stretch_end};

/// Errors of the time rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    /// The zone name is not known.
    #[error("unknown time zone {0:?}{hint}: use an IANA name such as Europe/Berlin, or UTC", hint = zone_hint(.0))]
    UnknownZone(String),
    /// The RRULE is malformed or unsupported.
    #[error("{0}")]
    RRule(String),
    /// The rule can never produce an occurrence.
    #[error("the rule produces no occurrence after its DTSTART (within 400 years, before UNTIL)")]
    Never,
    /// A window is malformed.
    #[error("{0}")]
    Window(String),
}

/// " (did you mean …?)" for a zone name the database does not have.
fn zone_hint(name: &str) -> String {
    let names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    match crate::model::diagnose::did_you_mean(name, names.iter().map(String::as_str)) {
        Some(n) => format!(" (did you mean {n}?)"),
        None => String::new(),
    }
}

/// The zone called `name`: `UTC` or an IANA name from the system database.
pub fn zone(name: &str) -> Result<TimeZone, WhenError> {
    if name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| WhenError::UnknownZone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::civil::datetime;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn first(
        rule: &str,
        start: jiff::civil::DateTime,
        tz: &str,
        after: &str,
        n: usize,
    ) -> Vec<Timestamp> {
        let cal = Calendar::new(
            &RRule::parse(rule).unwrap(),
            start,
            zone(tz).unwrap(),
            DstPolicy::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        let mut at = ts(after);
        while out.len() < n {
            let Some(o) = cal.next_after(at) else { break };
            out.push(o.at);
            at = o.at;
        }
        out
    }

    #[test]
    fn unknown_zone_is_named() {
        assert_eq!(
            zone("Mars/Olympus").unwrap_err().to_string(),
            "unknown time zone \"Mars/Olympus\": use an IANA name such as Europe/Berlin, or UTC"
        );
        assert!(zone("Europe/Berlin").is_ok());
    }

    #[test]
    fn rrule_last_sunday_of_month() {
        let got = first(
            "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=3;BYMINUTE=0;BYSECOND=0",
            datetime(2026, 1, 1, 0, 0, 0, 0),
            "UTC",
            "2025-12-31T00:00:00Z",
            3,
        );
        assert_eq!(
            got,
            vec![
                ts("2026-01-25T03:00:00Z"),
                ts("2026-02-22T03:00:00Z"),
                ts("2026-03-29T03:00:00Z")
            ]
        );
    }

    #[test]
    fn negative_monthday_and_setpos() {
        let got = first(
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            datetime(2026, 1, 31, 12, 0, 0, 0),
            "UTC",
            "2026-01-01T00:00:00Z",
            3,
        );
        assert_eq!(
            got,
            vec![
                ts("2026-01-31T12:00:00Z"),
                ts("2026-02-28T12:00:00Z"),
                ts("2026-03-31T12:00:00Z")
            ]
        );
        // Last working day of the month.
        let got = first(
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            datetime(2026, 1, 1, 9, 0, 0, 0),
            "UTC",
            "2026-01-01T00:00:00Z",
            2,
        );
        assert_eq!(
            got,
            vec![ts("2026-01-30T09:00:00Z"), ts("2026-02-27T09:00:00Z")]
        );
    }

    #[test]
    fn invalid_dates_are_skipped() {
        let got = first(
            "FREQ=MONTHLY",
            datetime(2026, 1, 31, 0, 0, 0, 0),
            "UTC",
            "2026-01-01T00:00:00Z",
            3,
        );
        assert_eq!(
            got,
            vec![
                ts("2026-01-31T00:00:00Z"),
                ts("2026-03-31T00:00:00Z"),
                ts("2026-05-31T00:00:00Z")
            ]
        );
    }

    #[test]
    fn count_and_until_end_the_rule() {
        let got = first(
            "FREQ=DAILY;COUNT=3",
            datetime(2026, 1, 1, 8, 0, 0, 0),
            "Europe/Berlin",
            "2025-01-01T00:00:00Z",
            10,
        );
        assert_eq!(got.len(), 3);
        let got = first(
            "FREQ=DAILY;UNTIL=20260103T070000Z",
            datetime(2026, 1, 1, 8, 0, 0, 0),
            "Europe/Berlin",
            "2025-01-01T00:00:00Z",
            10,
        );
        assert_eq!(
            got,
            vec![
                ts("2026-01-01T07:00:00Z"),
                ts("2026-01-02T07:00:00Z"),
                ts("2026-01-03T07:00:00Z")
            ]
        );
    }

    #[test]
    fn next_after_jumps_without_iterating_from_dtstart() {
        // A secondly rule started in 1970 answers for 2026 at once.
        let cal = Calendar::new(
            &RRule::parse("FREQ=SECONDLY;INTERVAL=90").unwrap(),
            datetime(1970, 1, 1, 0, 0, 0, 0),
            TimeZone::UTC,
            DstPolicy::default(),
        )
        .unwrap();
        // 1_767_225_600 s (2026-01-01) is a multiple of 90: the next is 90 s later.
        let o = cal.next_after(ts("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(o.at, ts("2026-01-01T00:01:30Z"));
    }

    #[test]
    fn impossible_rule_is_rejected() {
        let r = RRule::parse("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30").unwrap();
        assert_eq!(
            Calendar::new(
                &r,
                datetime(2026, 1, 1, 0, 0, 0, 0),
                TimeZone::UTC,
                DstPolicy::default()
            )
            .unwrap_err()
            .to_string(),
            "RRULE parts BYMONTH=2 and BYMONTHDAY=30 never fall on the same day"
        );
    }

    #[test]
    fn spring_forward_daily_rule_in_new_york() {
        let got = first(
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
            datetime(2026, 3, 1, 0, 0, 0, 0),
            "America/New_York",
            "2026-03-07T00:00:00Z",
            3,
        );
        assert_eq!(
            got,
            vec![
                ts("2026-03-07T07:30:00Z"),
                ts("2026-03-08T07:30:00Z"),
                ts("2026-03-09T06:30:00Z")
            ]
        );
    }

    #[test]
    fn weekly_first_period_starts_at_dtstart_like_dateutil() {
        // DTSTART on a Wednesday: the first week's set is WE, FR, so BYSETPOS=1 is WE.
        let got = first(
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1",
            datetime(2026, 1, 7, 9, 0, 0, 0),
            "UTC",
            "2026-01-01T00:00:00Z",
            2,
        );
        assert_eq!(
            got,
            vec![ts("2026-01-07T09:00:00Z"), ts("2026-01-12T09:00:00Z")]
        );
    }
}
