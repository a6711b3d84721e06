//! Daily time windows in a zone: `{"start": "22:00", "end": "06:00", "days": ["MO"]}`.
//!
//! A window with `end` before `start` wraps past midnight and belongs to
//! the day it starts on. `start == end` is invalid. Without `days`, every day.

use jiff::Timestamp;
use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::WhenError;
use super::civil::{civil_from_days, days_of, local_seconds, weekday};
use super::dst::{DstPolicy, resolve_local};

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// A daily window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawWindow", into = "RawWindow")]
pub struct Window {
    /// Local start time.
    pub start: Time,
    /// Local end time (exclusive).
    pub end: Time,
    /// Days it opens on, Monday = 0 … Sunday = 6; `None` for every day.
    pub days: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    start: String,
    end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<Vec<String>>,
}

fn time(s: &str) -> Result<Time, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, max: i8| {
        p.parse::<i8>()
            .ok()
            .filter(|v| p.len() == 2 && (0..=max).contains(v))
    };
    let t = match parts.as_slice() {
        [h, m] => num(h, 23).zip(num(m, 59)).map(|(h, m)| (h, m, 0)),
        [h, m, sec] => num(h, 23)
            .zip(num(m, 59))
            .zip(num(sec, 59))
            .map(|((h, m), s)| (h, m, s)),
        _ => None,
    };
    let (h, m, sec) = t.ok_or_else(|| format!("time {s:?} is not HH:MM or HH:MM:SS"))?;
    Time::new(h, m, sec, 0).map_err(|e| e.to_string())
}

fn show(t: Time) -> String {
    if t.second() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

impl TryFrom<RawWindow> for Window {
    type Error = String;
    fn try_from(r: RawWindow) -> Result<Self, String> {
        let days = match r.days {
            None => None,
            Some(v) => Some(
                v.iter()
                    .map(|d| {
                        DAYS.iter()
                            .position(|x| x == d)
                            .map(|i| i as u8)
                            .ok_or_else(|| format!("day {d:?} is not one of MO TU WE TH FR SA SU"))
                    })
                    .collect::<Result<Vec<u8>, String>>()?,
            ),
        };
        Ok(Window {
            start: time(&r.start)?,
            end: time(&r.end)?,
            days,
        })
    }
}

impl From<Window> for RawWindow {
    fn from(w: Window) -> Self {
        RawWindow {
            start: show(w.start),
            end: show(w.end),
            days: w.days.map(|v| {
                v.iter()
                    .map(|d| DAYS[usize::from(*d) % 7].to_string())
                    .collect()
            }),
        }
    }
}

fn secs(t: Time) -> i64 {
    i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
}

impl Window {
    /// Checks that the window is not empty and lists days at most once.
    pub fn validate(&self) -> Result<(), WhenError> {
        if self.start == self.end {
            return Err(WhenError::Window(format!(
                "empty window: start and end are both {}",
                show(self.start)
            )));
        }
        if let Some(d) = &self.days {
            if d.is_empty() {
                return Err(WhenError::Window(
                    "`days` is empty; omit it for every day".into(),
                ));
            }
            let mut s = d.clone();
            s.sort_unstable();
            s.dedup();
            if s.len() != d.len() {
                return Err(WhenError::Window("a day is listed twice".into()));
            }
        }
        Ok(())
    }

    fn opens_on(&self, day: i64) -> bool {
        self.days.as_ref().is_none_or(|d| d.contains(&weekday(day)))
    }

    fn contains_local(&self, local: i64) -> bool {
        let day = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (s, e) = (secs(self.start), secs(self.end));
        if s < e {
            self.opens_on(day) && (s..e).contains(&sod)
        } else {
            (sod >= s && self.opens_on(day)) || (sod < e && self.opens_on(day - 1))
        }
    }
}

/// True if `at` falls in one of `windows` (in `tz`); true for no windows.
pub fn in_windows(windows: &[Window], tz: &TimeZone, at: Timestamp) -> bool {
    if windows.is_empty() {
        return true;
    }
    let local = local_seconds(tz.to_datetime(at));
    windows.iter().any(|w| w.contains_local(local))
}

/// The instant a window starts or ends: local `time` on local day `day`
/// (days since the epoch) in `tz`; the first of a repeated time, and when
/// the gap ends for a time that does not exist that day.
fn boundary(day: i64, time: Time, tz: &TimeZone) -> Option<Timestamp> {
    let (y, m, d) = civil_from_days(day);
    let dt = DateTime::new(
        y as i16,
        m as i8,
        d as i8,
        time.hour(),
        time.minute(),
        time.second(),
        0,
    )
    .ok()?;
    let t = resolve_local(dt, tz, DstPolicy::default())
        .first()
        .copied()?;
    if matches!(
        tz.to_ambiguous_timestamp(dt).offset(),
        jiff::tz::AmbiguousOffset::Gap { .. }
    ) {
        return Some(tz.preceding(t).next().map_or(t, |tr| tr.timestamp()));
    }
    Some(t)
}

/// The earliest instant at or after `after` inside one of `windows`, looking
/// up to 8 days ahead. A window start that falls in a DST gap opens at the
/// shifted instant.
pub fn next_window_open(windows: &[Window], tz: &TimeZone, after: Timestamp) -> Option<Timestamp> {
    if in_windows(windows, tz, after) {
        return Some(after);
    }
    let today = days_of(tz.to_datetime(after).date());
    let mut best: Option<Timestamp> = None;
    for day in today..=today + 8 {
        for w in windows.iter().filter(|w| w.opens_on(day)) {
            let Some(t) = boundary(day, w.start, tz) else {
                continue;
            };
            if t > after && best.is_none_or(|b| t < b) {
                best = Some(t);
            }
        }
        if best.is_some() {
            break;
        }
    }
    best
}

/// The end of the in-window stretch that contains `at` (the first instant
/// after `at` outside every window; windows that overlap or touch count as
/// one stretch), looking up to 9 days ahead; `None` when `at` is outside
/// the windows or none ends in that span. A window end that falls in a DST
/// gap closes when the gap ends.
pub fn window_stretch_end(windows: &[Window], tz: &TimeZone, at: Timestamp) -> Option<Timestamp> {
    if windows.is_empty() || !in_windows(windows, tz, at) {
        return None;
    }
    let today = days_of(tz.to_datetime(at).date());
    let mut ends: Vec<Timestamp> = Vec::new();
    for day in today - 1..=today + 9 {
        for w in windows.iter().filter(|w| w.opens_on(day)) {
            // A window that wraps past midnight ends on the next day.
            let end_day = if secs(w.start) < secs(w.end) {
                day
            } else {
                day + 1
            };
            let Some(t) = boundary(end_day, w.end, tz) else {
                continue;
            };
            if t > at {
                ends.push(t);
            }
        }
    }
    ends.sort_unstable();
    ends.into_iter().find(|e| !in_windows(windows, tz, *e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(json: &str) -> Window {
        serde_json::from_str(json).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn json_round_trips() {
        let x = w(r#"{"start": "22:00", "end": "06:00:30", "days": ["MO", "SU"]}"#);
        assert_eq!(x.days, Some(vec![0, 6]));
        let back = serde_json::to_string(&x).unwrap();
        assert_eq!(
            back,
            r#"{"start":"22:00","end":"06:00:30","days":["MO","SU"]}"#
        );
        assert!(serde_json::from_str::<Window>(r#"{"start": "24:00", "end": "06:00"}"#).is_err());
        assert!(serde_json::from_str::<Window>(r#"{"start": "9:00", "end": "10:00"}"#).is_err());
        assert!(
            serde_json::from_str::<Window>(r#"{"start": "09:00", "end": "10:00", "days": ["XX"]}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<Window>(r#"{"start": "09:00", "end": "10:00", "hours": 1}"#)
                .is_err()
        );
        assert!(
            w(r#"{"start": "09:00", "end": "09:00"}"#)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn wrapping_window_belongs_to_the_day_it_starts() {
        let utc = TimeZone::UTC;
        // Friday 22:00 → Saturday 06:00 only.
        let x = vec![w(r#"{"start": "22:00", "end": "06:00", "days": ["FR"]}"#)];
        assert!(
            in_windows(&x, &utc, ts("2026-01-02T23:00:00Z")),
            "Friday night"
        );
        assert!(
            in_windows(&x, &utc, ts("2026-01-03T05:59:59Z")),
            "Saturday early"
        );
        assert!(
            !in_windows(&x, &utc, ts("2026-01-03T06:00:00Z")),
            "end is exclusive"
        );
        assert!(
            !in_windows(&x, &utc, ts("2026-01-02T05:00:00Z")),
            "Friday early belongs to Thursday"
        );
    }

    #[test]
    fn next_open_is_in_the_windows_zone() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let x = vec![w(r#"{"start": "22:00", "end": "06:00"}"#)];
        assert_eq!(
            next_window_open(&x, &ny, ts("2026-01-01T12:00:00Z")),
            Some(ts("2026-01-02T03:00:00Z"))
        );
        assert_eq!(
            next_window_open(&x, &ny, ts("2026-01-02T04:00:00Z")),
            Some(ts("2026-01-02T04:00:00Z"))
        );
        let weekend = vec![w(r#"{"start": "10:00", "end": "12:00", "days": ["SA"]}"#)];
        assert_eq!(
            next_window_open(&weekend, &TimeZone::UTC, ts("2026-01-01T12:00:00Z")),
            Some(ts("2026-01-03T10:00:00Z"))
        );
    }

    #[test]
    fn window_start_in_a_dst_gap_opens_at_the_shifted_instant() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let x = vec![w(r#"{"start": "02:30", "end": "04:00"}"#)];
        assert_eq!(
            next_window_open(&x, &ny, ts("2026-03-08T06:00:00Z")),
            Some(ts("2026-03-08T07:00:00Z")),
            "03:00 EDT, the end of the gap"
        );
    }

    #[test]
    fn stretch_end_joins_overlapping_windows_and_wraps_midnight() {
        let utc = TimeZone::UTC;
        let x = vec![
            w(r#"{"start": "01:00", "end": "03:00"}"#),
            w(r#"{"start": "02:30", "end": "04:00"}"#),
            w(r#"{"start": "22:00", "end": "02:00", "days": ["FR"]}"#),
        ];
        assert_eq!(
            window_stretch_end(&x, &utc, ts("2026-01-05T01:30:00Z")),
            Some(ts("2026-01-05T04:00:00Z")),
            "01:00-03:00 and 02:30-04:00 are one stretch"
        );
        assert_eq!(
            window_stretch_end(&x, &utc, ts("2026-01-05T05:00:00Z")),
            None
        );
        // Friday 2026-01-02 22:30 → the wrap (to 02:00) joins 01:00-04:00.
        assert_eq!(
            window_stretch_end(&x, &utc, ts("2026-01-02T22:30:00Z")),
            Some(ts("2026-01-03T04:00:00Z"))
        );
        assert_eq!(
            window_stretch_end(&[], &utc, ts("2026-01-02T22:30:00Z")),
            None
        );
    }

    /// A window whose end does not exist that day (spring forward) closes
    /// when the gap ends, as a start in the gap opens then.
    #[test]
    fn stretch_end_in_a_dst_gap_is_the_end_of_the_gap() {
        let berlin = crate::when::zone("Europe/Berlin").unwrap();
        let x = vec![w(r#"{"start": "01:00", "end": "02:30"}"#)];
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
        assert_eq!(
            window_stretch_end(&x, &berlin, ts("2026-03-29T00:30:00Z")),
            Some(ts("2026-03-29T01:00:00Z"))
        );
        let late = vec![w(r#"{"start": "02:30", "end": "04:00"}"#)];
        assert_eq!(
            next_window_open(&late, &berlin, ts("2026-03-28T23:00:00Z")),
            Some(ts("2026-03-29T01:00:00Z"))
        );
    }
}
