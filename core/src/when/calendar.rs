//! Expanding an RRULE from a local DTSTART in a zone, with the semantics of
//! RFC 5545 as implemented by python-dateutil (the test oracle).
//!
//! The rule is expanded in local civil time, period by period (a year, a
//! month, a week from WKST, a day, an hour, a minute or a second, every
//! INTERVAL periods from DTSTART's); BYxxx parts filter or expand each
//! period; BYSETPOS picks from the period's sorted set; local times before
//! DTSTART are dropped. Each local time is then mapped to instants by the
//! DST policy.

use std::cell::Cell;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::WhenError;
use super::civil::{civil_from_days, days_from_civil, local_seconds, month_len, weekday, year_len};
use super::dst::{DstPolicy, resolve_local};
use super::rrule::{Freq, RRule, Until};

/// One occurrence: its instant and a number stable for that occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// When it runs.
    pub at: Timestamp,
    /// For COUNT rules the 0-based position in the recurrence set; otherwise
    /// twice the local seconds since DTSTART, plus 1 for the second instant
    /// of an overlap run twice.
    pub index: u64,
    /// The local date-time the rule names (in a DST gap, `at` is where
    /// the gap policy moved it).
    pub nominal: DateTime,
}

/// How far ahead a search for the next occurrence goes: 400 years.
const HORIZON_SECONDS: i64 = 400 * 366 * 86_400;

/// Local seconds of 10000-01-01T00:00:00: the end of the civil calendar.
const END_OF_CALENDAR: i64 = 253_402_300_800;

/// Work units one search may spend: each period, each day and each local
/// time a search looks at costs one unit. A search of a rule that passes
/// [`Calendar::new`] stays far below it (a whole 400-year horizon of a
/// DAILY rule is about 300 000 units; counting a COUNT=100000 rule at most
/// about 200 000); it is the hard bound that makes every rule cost
/// milliseconds, whatever its BY-lists.
pub const SEARCH_BUDGET: u64 = 2_000_000;

/// Work units all calendars of one schedule document may spend when it is
/// checked (`check_document`, submit): twice [`SEARCH_BUDGET`], so that
/// 64 tasks cost at most tens of milliseconds, not 64 searches' worth.
pub const DOCUMENT_BUDGET: u64 = 2 * SEARCH_BUDGET;

/// A work budget that several searches share, e.g. every calendar of one
/// schedule document (see [`Calendar::new_within`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    left: u64,
}

impl Budget {
    /// A budget of `units` work units.
    pub const fn new(units: u64) -> Budget {
        Budget { left: units }
    }

    /// Units not yet spent.
    pub fn left(&self) -> u64 {
        self.left
    }
}

/// Where a scan looks: from period `k` on, local times at or after `from`,
/// until local time passes `stop`.
#[derive(Clone, Copy, Debug)]
struct Span {
    k: i64,
    from: i64,
    stop: i64,
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// The callback asked to stop.
    Stopped,
    /// Past the stop time or the end of the calendar.
    Exhausted,
    /// The work budget ran out first.
    OverBudget,
}

fn spend(budget: &Cell<u64>, n: u64) -> bool {
    match budget.get().checked_sub(n) {
        Some(left) => {
            budget.set(left);
            true
        }
        None => {
            budget.set(0);
            false
        }
    }
}

/// Feeds the local times of `ls` at or after `from` to `f`; `Some` when
/// the scan ends there.
fn emit(
    ls: impl Iterator<Item = i64>,
    from: i64,
    budget: &Cell<u64>,
    f: &mut dyn FnMut(i64) -> bool,
) -> Option<Scan> {
    for l in ls.filter(|l| *l >= from) {
        if !spend(budget, 1) {
            return Some(Scan::OverBudget);
        }
        if f(l) {
            return Some(Scan::Stopped);
        }
    }
    None
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

fn sorted<T: Ord + Copy>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Which period starts of a sub-daily rule pass BYHOUR/BYMINUTE/BYSECOND.
/// The time of day of period `j` depends only on `j mod n` (n = 86 400 /
/// gcd(step, 86 400) ≤ 86 400), so one cycle of positions is a bitset
/// (≤ 10.8 KB) with a summary word per 64 words: finding the next good
/// period costs a few word operations, however sparse the good ones are.
#[derive(Clone, Debug)]
struct Cycle {
    n: usize,
    words: Vec<u64>,
    summary: Vec<u64>,
    first: usize,
}

impl Cycle {
    /// `None` when no position is good.
    fn build(n: usize, good: impl Fn(usize) -> bool) -> Option<Cycle> {
        let mut words = vec![0u64; n.div_ceil(64)];
        for c in (0..n).filter(|&c| good(c)) {
            words[c / 64] |= 1 << (c % 64);
        }
        let mut summary = vec![0u64; words.len().div_ceil(64)];
        for (w, _) in words.iter().enumerate().filter(|(_, w)| **w != 0) {
            summary[w / 64] |= 1 << (w % 64);
        }
        let mut cy = Cycle {
            n,
            words,
            summary,
            first: 0,
        };
        cy.first = cy.next_in(0)?;
        Some(cy)
    }

    /// The first good position at or after `c` (< n), if any.
    fn next_in(&self, c: usize) -> Option<usize> {
        let w = c / 64;
        let bits = self.words.get(w)? & (!0u64 << (c % 64));
        if bits != 0 {
            return Some(w * 64 + bits.trailing_zeros() as usize);
        }
        let from = w + 1;
        let mut s = from / 64;
        let mut bits = self.summary.get(s)? & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                let ww = s * 64 + bits.trailing_zeros() as usize;
                return Some(ww * 64 + self.words[ww].trailing_zeros() as usize);
            }
            s += 1;
            bits = *self.summary.get(s)?;
        }
    }

    /// The first good period index at or after `j` (≥ 0).
    fn next_good(&self, j: i64) -> i64 {
        let n = self.n as i64;
        let c = j.rem_euclid(n) as usize;
        match self.next_in(c) {
            Some(g) => j + (g - c) as i64,
            None => j + (n - c as i64) + self.first as i64,
        }
    }
}

/// A rule in a zone, ready to answer "what comes next".
///
/// Nothing is materialised per period: the local times of a DAILY…YEARLY
/// period are the sorted product of its matching days and the sorted
/// BYHOUR × BYMINUTE × BYSECOND times, addressed by index, so a search
/// seeks to its lower bound and reads instants in order (BYSETPOS picks
/// indices); a sub-daily rule jumps to the next period whose time of day
/// passes its filters ([`Cycle`]). Work is then the periods and days
/// passed over plus the instants read, never the product of the BY-lists.
#[derive(Clone, Debug)]
pub struct Calendar {
    freq: Freq,
    interval: i64,
    until: Option<Until>,
    months: Vec<u8>,
    month_days: Vec<i8>,
    year_days: Vec<i16>,
    weekdays: Vec<u8>,
    nth_weekdays: Vec<(u8, i8)>,
    hours: Vec<u8>,
    minutes: Vec<u8>,
    seconds: Vec<u8>,
    set_pos: Vec<i16>,
    wkst: u8,
    start: i64,
    start_day: i64,
    tz: TimeZone,
    dst: DstPolicy,
    /// COUNT rules: where the set ends, and checkpoints to count from.
    counted: Option<Counted>,
    /// Sub-daily rules with BYHOUR/BYMINUTE/BYSECOND filters.
    cycle: Option<Cycle>,
}

/// A COUNT rule's local times, counted once up front (nothing is mapped
/// to instants or kept but every [`CHECKPOINT`]-th local time with its
/// position): a search counts on from the checkpoint before it.
#[derive(Clone, Debug)]
struct Counted {
    /// Local times in the set (COUNT, or fewer if the horizon ends first).
    total: u64,
    /// (local seconds, position), every `CHECKPOINT` positions from 0.
    marks: Vec<(i64, u64)>,
}

/// Positions between two checkpoints of a COUNT rule.
const CHECKPOINT: u64 = 1024;

/// One of the rule's parts as written (`BYMONTH=2`), or `None`.
fn part_text(rule: &RRule, name: &str) -> Option<String> {
    let text = rule.to_string();
    let body = text.strip_prefix("RRULE:").unwrap_or(&text).to_string();
    body.split(';')
        .find(|p| p.split_once('=').is_some_and(|(k, _)| k.trim() == name))
        .map(|p| p.trim().to_string())
}

impl Calendar {
    /// Prepares `rule` from local `dtstart` in `tz`. Fails if the rule can
    /// never produce an occurrence (naming the parts when they contradict
    /// each other), or if finding its first occurrence would cost more than
    /// [`SEARCH_BUDGET`].
    pub fn new(
        rule: &RRule,
        dtstart: DateTime,
        tz: TimeZone,
        dst: DstPolicy,
    ) -> Result<Calendar, WhenError> {
        Calendar::new_within(rule, dtstart, tz, dst, &mut Budget::new(SEARCH_BUDGET))
    }

    /// As [`Calendar::new`], spending at most [`SEARCH_BUDGET`] from
    /// `budget` (shared, e.g., by every calendar of one document).
    pub fn new_within(
        rule: &RRule,
        dtstart: DateTime,
        tz: TimeZone,
        dst: DstPolicy,
        budget: &mut Budget,
    ) -> Result<Calendar, WhenError> {
        let start = local_seconds(dtstart);
        let start_day = start.div_euclid(86_400);
        let (_, m0, d0) = civil_from_days(start_day);
        let mut months = sorted(&rule.by_month);
        let mut month_days = sorted(&rule.by_month_day);
        let mut weekdays = sorted(&rule.by_weekday);
        let no_day_rule = rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_weekday.is_empty()
            && rule.by_nth_weekday.is_empty();
        // Parts taken from DTSTART, named as such in errors.
        let mut implied: Vec<String> = Vec::new();
        if no_day_rule {
            match rule.freq {
                Freq::Yearly => {
                    if months.is_empty() {
                        months.push(m0 as u8);
                        implied.push(format!("DTSTART's month ({m0})"));
                    }
                    month_days.push(d0 as i8);
                    implied.push(format!("DTSTART's day of the month ({d0})"));
                }
                Freq::Monthly => {
                    month_days.push(d0 as i8);
                    implied.push(format!("DTSTART's day of the month ({d0})"));
                }
                Freq::Weekly => weekdays.push(weekday(start_day)),
                _ => {}
            }
        }
        let sod = start.rem_euclid(86_400);
        let dflt = |v: &[u8], coarser: bool, x: i64| -> Vec<u8> {
            let mut v = sorted(v);
            if v.is_empty() && coarser {
                v.push(x as u8);
            }
            v
        };
        let mut hours = dflt(&rule.by_hour, rule.freq < Freq::Hourly, sod / 3600);
        let mut minutes = dflt(&rule.by_minute, rule.freq < Freq::Minutely, sod % 3600 / 60);
        let mut seconds = dflt(&rule.by_second, rule.freq < Freq::Secondly, sod % 60);
        // With the rule's own unit, only values INTERVAL steps can reach
        // from DTSTART's count (as dateutil does); none reachable is an error.
        let (own, base, from, part) = match rule.freq {
            Freq::Hourly => (&mut hours, 24, sod / 3600, "BYHOUR"),
            Freq::Minutely => (&mut minutes, 60, sod % 3600 / 60, "BYMINUTE"),
            Freq::Secondly => (&mut seconds, 60, sod % 60, "BYSECOND"),
            _ => (&mut Vec::new(), 1, 0, ""),
        };
        if !own.is_empty() && base > 1 {
            let g = gcd(i64::from(rule.interval), base);
            own.retain(|v| (i64::from(*v) - from).rem_euclid(g) == 0);
            if own.is_empty() {
                return Err(WhenError::RRule(format!(
                    "RRULE part {part}: no value is ever reached with INTERVAL={} from DTSTART",
                    rule.interval
                )));
            }
        }
        let mut cal = Calendar {
            freq: rule.freq,
            interval: i64::from(rule.interval),
            until: rule.until,
            months,
            month_days,
            year_days: sorted(&rule.by_year_day),
            weekdays,
            nth_weekdays: sorted(&rule.by_nth_weekday),
            hours,
            minutes,
            seconds,
            set_pos: sorted(&rule.by_set_pos),
            wkst: rule.wkst,
            start,
            start_day,
            tz,
            dst,
            counted: None,
            cycle: None,
        };
        cal.check_days(rule, &implied, false)?;
        if cal.freq >= Freq::Hourly {
            cal.build_cycle(rule)?;
        }
        if let Some(Until::Local(u)) = cal.until
            && local_seconds(u) < start
        {
            return Err(WhenError::RRule(format!(
                "RRULE part UNTIL ({u}) is before DTSTART ({dtstart})"
            )));
        }
        let units = Cell::new(budget.left.min(SEARCH_BUDGET));
        let before = units.get();
        let whole = Span {
            k: 0,
            from: start,
            stop: start + HORIZON_SECONDS,
        };
        let (scan, found) = if let Some(count) = rule.count {
            let count = u64::from(count);
            let mut marks = Vec::new();
            let mut n = 0u64;
            let scan = cal.scan(whole, &units, &mut |l| {
                if n.is_multiple_of(CHECKPOINT) {
                    marks.push((l, n));
                }
                n += 1;
                n >= count
            });
            cal.counted = Some(Counted { total: n, marks });
            (scan, n > 0)
        } else {
            let mut any = false;
            let scan = cal.scan(whole, &units, &mut |l| {
                any = cal.until_allows_local(l);
                true
            });
            (scan, any)
        };
        budget.left -= before - units.get();
        if !found || scan == Scan::OverBudget {
            // Name the parts if they contradict each other.
            cal.check_days(rule, &implied, true)?;
        }
        if !found && scan != Scan::OverBudget {
            return Err(WhenError::Never);
        }
        if scan == Scan::OverBudget {
            return Err(WhenError::RRule(format!(
                "RRULE needs more than {before} steps of work to expand (its BY parts rarely \
                 or never match together, or the schedule's calendars used up their budget): \
                 simplify the rule"
            )));
        }
        Ok(cal)
    }

    /// Refuses day parts that never fall on one day, and BYSETPOS positions
    /// beyond every period's set. `full`: by looking at the years 2001–2028
    /// (all 14 kinds of year: leap or not × weekday of 1 January); else,
    /// only for rules without BYDAY, at 2001 and 2004 (a common and a leap
    /// year), cheap enough to do before every search.
    fn check_days(&self, rule: &RRule, implied: &[String], full: bool) -> Result<(), WhenError> {
        let lists = [
            !self.months.is_empty(),
            !self.month_days.is_empty(),
            !self.year_days.is_empty(),
            !self.weekdays.is_empty() || !self.nth_weekdays.is_empty(),
        ];
        let n_lists = lists.iter().filter(|x| **x).count();
        let times = (self.hours.len() * self.minutes.len() * self.seconds.len()) as i64;
        let need = self
            .set_pos
            .iter()
            .map(|p| i64::from(p.unsigned_abs()))
            .min()
            .unwrap_or(0);
        let coarse = self.freq <= Freq::Daily;
        let by_day = !self.weekdays.is_empty() || !self.nth_weekdays.is_empty();
        let years: Vec<i32> = if full {
            (2001..=2028).collect()
        } else if n_lists >= 2 && !by_day {
            // BYMONTH with BYMONTHDAY alone: some month must be long enough.
            let fits = self.months.iter().any(|&m| {
                let longest = month_len(2004, u32::from(m)) as u8;
                self.month_days.iter().any(|d| d.unsigned_abs() <= longest)
            });
            if self.year_days.is_empty() && fits {
                return self.check_sub_daily_set_pos();
            }
            vec![2001, 2004]
        } else {
            return self.check_sub_daily_set_pos();
        };
        if n_lists < 2 && !(coarse && need > times) {
            return self.check_sub_daily_set_pos();
        }
        // Days per period (year, month, week or day) that match, at most.
        let mut any = false;
        let mut most = 0i64;
        let mut run = (i64::MIN, 0i64);
        for y in years {
            let mut d = days_from_civil(y, 1, 1);
            let last = days_from_civil(y + 1, 1, 1);
            while d < last {
                let (y, m, _) = civil_from_days(d);
                if !self.months.is_empty() && !self.months.contains(&(m as u8)) {
                    d = self.next_day_to_try(d);
                    continue;
                }
                if self.day_ok(d) {
                    any = true;
                    let key = match self.freq {
                        Freq::Yearly => i64::from(y),
                        Freq::Monthly => i64::from(y) * 12 + i64::from(m),
                        Freq::Weekly => self.week_start(d),
                        _ => d,
                    };
                    run = if run.0 == key {
                        (key, run.1 + 1)
                    } else {
                        (key, 1)
                    };
                    most = most.max(run.1);
                }
                d += 1;
            }
        }
        if !any {
            let mut names: Vec<String> = ["BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYDAY"]
                .iter()
                .filter_map(|p| part_text(rule, p))
                .collect();
            names.extend(implied.iter().cloned());
            return Err(WhenError::RRule(format!(
                "RRULE parts {} never fall on the same day",
                names.join(" and ")
            )));
        }
        if coarse && need > most * times {
            return Err(WhenError::RRule(format!(
                "RRULE part BYSETPOS: every position is beyond the at most {} instants \
                 one {:?} period holds",
                most * times,
                self.freq
            )));
        }
        self.check_sub_daily_set_pos()
    }

    fn check_sub_daily_set_pos(&self) -> Result<(), WhenError> {
        let size = match self.freq {
            Freq::Hourly => (self.minutes.len() * self.seconds.len()) as u16,
            Freq::Minutely => self.seconds.len() as u16,
            Freq::Secondly => 1,
            _ => return Ok(()),
        };
        if !self.set_pos.is_empty() && self.set_pos.iter().all(|p| p.unsigned_abs() > size) {
            return Err(WhenError::RRule(format!(
                "RRULE part BYSETPOS: every position is beyond the {size} instants \
                 one {:?} period holds",
                self.freq
            )));
        }
        Ok(())
    }

    /// Sub-daily rules: the first period, its length, and which periods'
    /// times of day pass BYHOUR/BYMINUTE/BYSECOND.
    fn build_cycle(&mut self, rule: &RRule) -> Result<(), WhenError> {
        let (base, step) = self.sub_daily_grid();
        let hours = self.hours.iter().fold(0u32, |a, h| a | 1 << h);
        let minutes = if self.freq >= Freq::Minutely {
            self.minutes.iter().fold(0u64, |a, m| a | 1 << m)
        } else {
            0
        };
        let seconds = if self.freq == Freq::Secondly {
            self.seconds.iter().fold(0u64, |a, s| a | 1 << s)
        } else {
            0
        };
        if hours == 0 && minutes == 0 && seconds == 0 {
            return Ok(());
        }
        let n = (86_400 / gcd(step, 86_400)) as usize;
        let good = |c: usize| {
            let tod = (base + c as i64 * step).rem_euclid(86_400);
            (hours == 0 || hours & 1 << (tod / 3600) != 0)
                && (minutes == 0 || minutes & 1 << (tod % 3600 / 60) != 0)
                && (seconds == 0 || seconds & 1 << (tod % 60) != 0)
        };
        self.cycle = Some(Cycle::build(n, good).ok_or_else(|| {
            let names: Vec<String> = ["BYHOUR", "BYMINUTE", "BYSECOND", "INTERVAL"]
                .iter()
                .filter_map(|p| part_text(rule, p))
                .collect();
            WhenError::RRule(format!(
                "RRULE parts {} never match together: no FREQ={:?} step from DTSTART reaches \
                 such a time of day",
                names.join(" and "),
                self.freq
            ))
        })?);
        Ok(())
    }

    /// Sub-daily rules: local seconds of period 0, and seconds per period.
    fn sub_daily_grid(&self) -> (i64, i64) {
        let unit = match self.freq {
            Freq::Hourly => 3600,
            Freq::Minutely => 60,
            _ => 1,
        };
        let base = match self.freq {
            Freq::Secondly => self.start,
            _ => self.start.div_euclid(unit) * unit,
        };
        (base, unit * self.interval)
    }

    fn until_allows_local(&self, l: i64) -> bool {
        match self.until {
            Some(Until::Local(u)) => l <= local_seconds(u),
            Some(Until::Instant(u)) => {
                // The earliest instant of `l` must not be after UNTIL.
                super::civil::datetime_from_seconds(l)
                    .map(|dt| {
                        let p = DstPolicy {
                            overlap: super::dst::OverlapPolicy::First,
                            gap: super::dst::GapPolicy::Shift,
                        };
                        resolve_local(dt, &self.tz, p)
                            .first()
                            .is_some_and(|t| *t <= u)
                    })
                    .unwrap_or(false)
            }
            None => true,
        }
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Occurrence> {
        let after_local = local_seconds(self.tz.to_datetime(after));
        // Local times a little before `after`'s own can still map to later
        // instants when the offset drops soon after: look back by the drop.
        let off = self.tz.to_offset(after).seconds();
        let limit = after
            .checked_add(jiff::SignedDuration::from_hours(26))
            .unwrap_or(Timestamp::MAX);
        let mut min_off = off;
        for t in self.tz.following(after) {
            if t.timestamp() > limit {
                break;
            }
            min_off = min_off.min(t.offset().seconds());
        }
        let lookback = i64::from(off - min_off).max(0) + 7200;
        let lo = (after_local - lookback).max(self.start);
        let stop = after_local + HORIZON_SECONDS;
        let units = Cell::new(SEARCH_BUDGET);
        let mut found = None;
        match &self.counted {
            Some(c) => {
                // Count on from the last checkpoint at or before `lo`.
                let i = c.marks.partition_point(|m| m.0 <= lo).max(1) - 1;
                let (l0, mut n) = *c.marks.get(i)?;
                self.scan(
                    Span {
                        k: self.period_of(l0),
                        from: l0,
                        stop,
                    },
                    &units,
                    &mut |l| {
                        if n >= c.total {
                            return true;
                        }
                        n += 1;
                        l >= lo && self.settle(l, after, |_| n - 1, &mut found)
                    },
                );
            }
            None => {
                self.scan(
                    Span {
                        k: self.period_of(lo),
                        from: lo,
                        stop,
                    },
                    &units,
                    &mut |l| self.settle(l, after, |j| (l - self.start) as u64 * 2 + j, &mut found),
                );
            }
        }
        found
    }

    /// Whether a search ends at local time `l`: it is past UNTIL, or one of
    /// its instants is after `after` (then stored in `found`, numbered by
    /// `index` from its place among the instants of `l`).
    fn settle(
        &self,
        l: i64,
        after: Timestamp,
        index: impl Fn(u64) -> u64,
        found: &mut Option<Occurrence>,
    ) -> bool {
        if let Some(Until::Local(u)) = self.until
            && l > local_seconds(u)
        {
            return true;
        }
        let Some(dt) = super::civil::datetime_from_seconds(l) else {
            return true;
        };
        for (j, t) in resolve_local(dt, &self.tz, self.dst)
            .into_iter()
            .enumerate()
        {
            if let Some(Until::Instant(u)) = self.until
                && t > u
            {
                return true;
            }
            if t > after {
                *found = Some(Occurrence {
                    at: t,
                    index: index(j as u64),
                    nominal: dt,
                });
                return true;
            }
        }
        false
    }

    /// The period index containing local seconds `l` (≥ 0).
    fn period_of(&self, l: i64) -> i64 {
        let day = l.div_euclid(86_400);
        let units = match self.freq {
            Freq::Yearly => i64::from(civil_from_days(day).0 - civil_from_days(self.start_day).0),
            Freq::Monthly => {
                let (y, m, _) = civil_from_days(day);
                let (y0, m0, _) = civil_from_days(self.start_day);
                (i64::from(y) * 12 + i64::from(m)) - (i64::from(y0) * 12 + i64::from(m0))
            }
            Freq::Weekly => (day - self.week_start(self.start_day)).div_euclid(7),
            Freq::Daily => day - self.start_day,
            Freq::Hourly => l.div_euclid(3600) - self.start.div_euclid(3600),
            Freq::Minutely => l.div_euclid(60) - self.start.div_euclid(60),
            Freq::Secondly => l - self.start,
        };
        units.div_euclid(self.interval).max(0)
    }

    fn week_start(&self, day: i64) -> i64 {
        day - i64::from((weekday(day) + 7 - self.wkst) % 7)
    }

    /// Calls `f` with each local time (seconds) of the recurrence set at or
    /// after `from` (and DTSTART), from period `k` on, in order, until `f`
    /// returns true, local time passes `stop`, or `budget` runs out.
    fn scan(&self, span: Span, budget: &Cell<u64>, f: &mut dyn FnMut(i64) -> bool) -> Scan {
        let span = Span {
            from: span.from.max(self.start),
            ..span
        };
        let Span { k, from, stop } = span;
        if self.freq >= Freq::Hourly {
            return self.scan_sub_daily(span, budget, f);
        }
        let nt = (self.hours.len() * self.minutes.len() * self.seconds.len()) as i64;
        let (from_day, from_tod) = (from.div_euclid(86_400), from.rem_euclid(86_400));
        let mut days = Vec::new();
        let mut k = k;
        loop {
            if !spend(budget, 1) {
                return Scan::OverBudget;
            }
            let Some(first) = self.period_start(k) else {
                return Scan::Exhausted;
            };
            if first > stop {
                return Scan::Exhausted;
            }
            // BYSETPOS counts from the period's first day; otherwise days
            // before `from` are never looked at.
            let lo_day = if self.set_pos.is_empty() {
                from_day
            } else {
                i64::MIN
            };
            days.clear();
            if !self.period_days(k, lo_day, &mut days, budget) {
                return Scan::OverBudget;
            }
            let n = days.len() as i64 * nt;
            let at = |i: i64| days[(i / nt) as usize] * 86_400 + self.time_of_day(i % nt);
            if self.set_pos.is_empty() {
                let i0 = match days.first() {
                    Some(&d) if d == from_day => self.first_time_at_or_after(from_tod),
                    _ => 0,
                };
                if let Some(end) = emit((i0..n).map(at), from, budget, f) {
                    return end;
                }
            } else if let Some(end) = emit(self.positions(n).into_iter().map(at), from, budget, f) {
                return end;
            }
            k += 1;
        }
    }

    /// The days of DAILY…YEARLY period `k` from day `lo_day` on that pass
    /// the day filters, in order; false when the budget ran out.
    fn period_days(&self, k: i64, lo_day: i64, out: &mut Vec<i64>, budget: &Cell<u64>) -> bool {
        let Some(ps) = self.period_start(k) else {
            return true;
        };
        let pday = ps.div_euclid(86_400);
        let (y, m, _) = civil_from_days(pday);
        let mut range = |a: i64, b: i64| -> bool {
            let a = a.max(lo_day);
            if b <= a {
                return true;
            }
            if !spend(budget, (b - a) as u64) {
                return false;
            }
            out.extend((a..b).filter(|d| self.day_ok(*d)));
            true
        };
        match self.freq {
            Freq::Yearly if !self.months.is_empty() => self.months.iter().all(|&mm| {
                let first = days_from_civil(y, u32::from(mm), 1);
                range(first, first + i64::from(month_len(y, u32::from(mm))))
            }),
            Freq::Yearly => range(pday, pday + i64::from(year_len(y))),
            Freq::Monthly => range(pday, pday + i64::from(month_len(y, m))),
            Freq::Weekly => range(pday, self.week_start(pday) + 7),
            _ => range(pday, pday + 1),
        }
    }

    /// Seconds of the day of the `i`-th BYHOUR × BYMINUTE × BYSECOND time.
    fn time_of_day(&self, i: i64) -> i64 {
        let (nm, ns) = (self.minutes.len() as i64, self.seconds.len() as i64);
        let h = self.hours[(i / (nm * ns)) as usize];
        let m = self.minutes[(i / ns % nm) as usize];
        let s = self.seconds[(i % ns) as usize];
        i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)
    }

    /// Index of the first BYHOUR × BYMINUTE × BYSECOND time at or after
    /// `tod` seconds of the day (the count of times if none is).
    fn first_time_at_or_after(&self, tod: i64) -> i64 {
        let (nm, ns) = (self.minutes.len() as i64, self.seconds.len() as i64);
        let (h, m, s) = (
            (tod / 3600) as u8,
            (tod % 3600 / 60) as u8,
            (tod % 60) as u8,
        );
        let hi = self.hours.partition_point(|&x| x < h) as i64;
        if hi as usize == self.hours.len() || self.hours[hi as usize] > h {
            return hi * nm * ns;
        }
        let mi = self.minutes.partition_point(|&x| x < m) as i64;
        if mi as usize == self.minutes.len() || self.minutes[mi as usize] > m {
            return hi * nm * ns + mi * ns;
        }
        let si = self.seconds.partition_point(|&x| x < s) as i64;
        hi * nm * ns + mi * ns + si
    }

    /// HOURLY, MINUTELY and SECONDLY: jumps to the next period whose time
    /// of day passes the filters and whose day passes the day filters.
    fn scan_sub_daily(
        &self,
        Span { k, from, stop }: Span,
        budget: &Cell<u64>,
        f: &mut dyn FnMut(i64) -> bool,
    ) -> Scan {
        let (base, step) = self.sub_daily_grid();
        let mut j = k.max((from - base).div_euclid(step)).max(0);
        let mut buf = Vec::new();
        loop {
            if !spend(budget, 1) {
                return Scan::OverBudget;
            }
            if let Some(cy) = &self.cycle {
                j = cy.next_good(j);
            }
            let Some(ps) = j.checked_mul(step).and_then(|x| x.checked_add(base)) else {
                return Scan::Exhausted;
            };
            if ps > stop || ps >= END_OF_CALENDAR {
                return Scan::Exhausted;
            }
            let day = ps.div_euclid(86_400);
            if !self.day_ok(day) {
                let next = self.next_day_to_try(day) * 86_400;
                j = (next - base + step - 1).div_euclid(step).max(j + 1);
                continue;
            }
            buf.clear();
            match self.freq {
                Freq::Hourly => {
                    for m in &self.minutes {
                        for sec in &self.seconds {
                            buf.push(ps + i64::from(*m) * 60 + i64::from(*sec));
                        }
                    }
                }
                Freq::Minutely => buf.extend(self.seconds.iter().map(|s| ps + i64::from(*s))),
                _ => buf.push(ps),
            }
            if !self.set_pos.is_empty() {
                buf = self
                    .positions(buf.len() as i64)
                    .iter()
                    .map(|&i| buf[i as usize])
                    .collect();
            }
            if let Some(end) = emit(buf.iter().copied(), from, budget, f) {
                return end;
            }
            j += 1;
        }
    }

    /// The indices BYSETPOS picks from a set of `n`, sorted.
    fn positions(&self, n: i64) -> Vec<i64> {
        let mut picked: Vec<i64> = self
            .set_pos
            .iter()
            .map(|&p| {
                if p > 0 {
                    i64::from(p) - 1
                } else {
                    n + i64::from(p)
                }
            })
            .filter(|i| (0..n).contains(i))
            .collect();
        picked.sort_unstable();
        picked.dedup();
        picked
    }

    /// After `day` failed the day filters: the next day that may pass.
    fn next_day_to_try(&self, day: i64) -> i64 {
        let (y, m, _) = civil_from_days(day);
        if !self.months.is_empty() && !self.months.contains(&(m as u8)) {
            if m == 12 {
                days_from_civil(y + 1, 1, 1)
            } else {
                days_from_civil(y, m + 1, 1)
            }
        } else {
            day + 1
        }
    }

    /// Local seconds at which period `k` starts.
    fn period_start(&self, k: i64) -> Option<i64> {
        let n = k.checked_mul(self.interval)?;
        let (y0, m0, _) = civil_from_days(self.start_day);
        let secs = match self.freq {
            Freq::Yearly => {
                let y = i64::from(y0) + n;
                if y > 9999 {
                    return None;
                }
                days_from_civil(y as i32, 1, 1) * 86_400
            }
            Freq::Monthly => {
                let mi = i64::from(y0) * 12 + i64::from(m0) - 1 + n;
                if mi / 12 > 9999 {
                    return None;
                }
                days_from_civil((mi / 12) as i32, (mi % 12) as u32 + 1, 1) * 86_400
            }
            Freq::Weekly => {
                if k == 0 {
                    self.start_day * 86_400
                } else {
                    (self.week_start(self.start_day) + n * 7) * 86_400
                }
            }
            Freq::Daily => (self.start_day + n) * 86_400,
            Freq::Hourly => (self.start.div_euclid(3600) + n) * 3600,
            Freq::Minutely => (self.start.div_euclid(60) + n) * 60,
            Freq::Secondly => self.start + n,
        };
        (secs < 253_402_300_800).then_some(secs)
    }

    fn day_ok(&self, day: i64) -> bool {
        let (y, m, d) = civil_from_days(day);
        if !self.months.is_empty() && !self.months.contains(&(m as u8)) {
            return false;
        }
        if !self.month_days.is_empty() {
            let ml = month_len(y, m) as i8;
            let dd = d as i8;
            if !self
                .month_days
                .iter()
                .any(|&x| x == dd || (x < 0 && ml + 1 + x == dd))
            {
                return false;
            }
        }
        if !self.year_days.is_empty() {
            let yl = year_len(y) as i16;
            let yd = (day - days_from_civil(y, 1, 1) + 1) as i16;
            if !self
                .year_days
                .iter()
                .any(|&x| x == yd || (x < 0 && yl + 1 + x == yd))
            {
                return false;
            }
        }
        if self.weekdays.is_empty() && self.nth_weekdays.is_empty() {
            return true;
        }
        let wd = weekday(day);
        if self.weekdays.contains(&wd) {
            return true;
        }
        self.nth_weekdays.iter().any(|&(w, n)| {
            if w != wd {
                return false;
            }
            // The n-th such weekday of the month (MONTHLY, or YEARLY with
            // BYMONTH), else of the year.
            let (pos, len) = if self.freq == Freq::Monthly || !self.months.is_empty() {
                (i64::from(d), i64::from(month_len(y, m)))
            } else {
                (day - days_from_civil(y, 1, 1) + 1, i64::from(year_len(y)))
            };
            let nth = if n > 0 {
                (pos - 1) / 7 + 1
            } else {
                -((len - pos) / 7 + 1)
            };
            nth == i64::from(n)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date, datetime};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cal(rule: &str, start: DateTime, tz: &str) -> Result<Calendar, WhenError> {
        Calendar::new(
            &RRule::parse(rule).unwrap(),
            start,
            super::super::zone(tz).unwrap(),
            DstPolicy::default(),
        )
    }

    fn err(rule: &str, start: DateTime) -> String {
        cal(rule, start, "UTC").unwrap_err().to_string()
    }

    /// Every occurrence from `from` up to `to`, chained through `next_after`.
    fn all(c: &Calendar, from: &str, to: &str) -> Vec<Timestamp> {
        let (mut at, to) = (ts(from), ts(to));
        let mut out = Vec::new();
        while let Some(o) = c.next_after(at) {
            if o.at > to {
                break;
            }
            out.push(o.at);
            at = o.at;
        }
        out
    }

    /// The days from `from` (inclusive) to `to` (exclusive) for which `keep` holds, at `hh`:00Z.
    fn days_where(
        from: i16,
        to: i16,
        hh: i8,
        keep: impl Fn(jiff::civil::Date) -> bool,
    ) -> Vec<Timestamp> {
        let mut d = date(from, 1, 1);
        let mut out = Vec::new();
        while d.year() < to {
            if keep(d) {
                out.push(TimeZone::UTC.to_timestamp(d.at(hh, 0, 0, 0)).unwrap());
            }
            d = d.tomorrow().unwrap();
        }
        out
    }

    /// Asserts that `rule` from `start` (UTC) gives exactly `want` from 2026 to `to`.
    fn gives(rule: &str, start: DateTime, to: &str, want: &[Timestamp]) -> Calendar {
        let c = cal(rule, start, "UTC").unwrap();
        assert_eq!(all(&c, "2026-01-01T00:00:00Z", to), want, "{rule}");
        c
    }

    fn every(n: u32) -> String {
        (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    }

    /// Issue 14 item 6: every day, hour, minute and second of a YEARLY
    /// period (366 × 86 400 instants) was expanded and sorted per search
    /// (1.7 s, 276 MB), then refused by a per-period cap. It is now read in
    /// order from the search's lower bound: accepted, with exact instants.
    #[test]
    fn a_product_of_by_lists_is_read_in_order_not_expanded() {
        let rule = format!(
            "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={}",
            every(24),
            every(60),
            every(60)
        );
        let c = cal(&rule, datetime(2026, 1, 1, 0, 0, 0, 0), "UTC").unwrap();
        for (after, next) in [
            ("2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            ("2026-06-15T12:34:56Z", "2026-06-15T12:34:57Z"),
            ("2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"),
            ("2028-02-28T23:59:59Z", "2028-02-29T00:00:00Z"),
        ] {
            assert_eq!(c.next_after(ts(after)).unwrap().at, ts(next), "{after}");
        }
        // In a zone with DST: New York's 2026 spring-forward gap (02:00–03:00
        // local) is shifted by an hour, so the second after 06:59:59Z is 07:00:00Z.
        let c = cal(&rule, datetime(2026, 1, 1, 0, 0, 0, 0), "America/New_York").unwrap();
        assert_eq!(
            c.next_after(ts("2026-03-08T06:59:59Z")).unwrap().at,
            ts("2026-03-08T07:00:00Z")
        );
        // Positions address the product without building it: the second
        // and the last second of every year.
        let c = cal(
            &format!("{rule};BYSETPOS=-1,2"),
            datetime(2026, 1, 1, 0, 0, 0, 0),
            "UTC",
        )
        .unwrap();
        assert_eq!(
            all(&c, "2026-01-01T00:00:00Z", "2027-12-31T23:59:59Z"),
            [
                ts("2026-01-01T00:00:01Z"),
                ts("2026-12-31T23:59:59Z"),
                ts("2027-01-01T00:00:01Z"),
                ts("2027-12-31T23:59:59Z")
            ]
        );
    }

    /// Issue 14 item 6: rules whose parts can never hold together were
    /// searched to the horizon (sub-daily ones up to 3 000 000 periods,
    /// 0.3 s per task) and then refused as `Never`; they are refused with
    /// the parts named, most without any search.
    #[test]
    fn impossible_combinations_are_refused_naming_the_parts() {
        let jan1 = datetime(2026, 1, 1, 9, 0, 0, 0);
        for (rule, start, want) in [
            (
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
                jan1,
                "RRULE parts BYMONTH=2 and BYMONTHDAY=30 never fall on the same day",
            ),
            (
                "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4,6,9,11",
                jan1,
                "RRULE parts BYMONTH=4,6,9,11 and BYMONTHDAY=31 never fall on the same day",
            ),
            (
                "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=2",
                jan1,
                "RRULE parts BYMONTH=2 and BYYEARDAY=366 never fall on the same day",
            ),
            (
                "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1,2,3",
                jan1,
                "RRULE parts BYMONTHDAY=1,2,3 and BYDAY=5MO never fall on the same day",
            ),
            (
                "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=-30",
                jan1,
                "RRULE parts BYMONTH=2 and BYMONTHDAY=-30 never fall on the same day",
            ),
            (
                "FREQ=YEARLY;BYMONTH=2",
                datetime(2026, 1, 30, 9, 0, 0, 0),
                "RRULE parts BYMONTH=2 and DTSTART's day of the month (30) never fall on the same day",
            ),
            (
                "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
                jan1,
                "RRULE part BYSETPOS: every position is beyond the at most 5 instants one Monthly period holds",
            ),
            (
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYHOUR=1,2;BYSETPOS=5,-5",
                jan1,
                "RRULE part BYSETPOS: every position is beyond the at most 4 instants one Yearly period holds",
            ),
            (
                "FREQ=HOURLY;BYMINUTE=0,30;BYSETPOS=3",
                jan1,
                "RRULE part BYSETPOS: every position is beyond the 2 instants one Hourly period holds",
            ),
            (
                "FREQ=MINUTELY;INTERVAL=90;BYHOUR=2",
                datetime(2026, 1, 1, 0, 0, 0, 0),
                "RRULE parts BYHOUR=2 and INTERVAL=90 never match together: no FREQ=Minutely step from DTSTART reaches such a time of day",
            ),
            (
                "FREQ=SECONDLY;INTERVAL=3600;BYMINUTE=30",
                datetime(2026, 1, 1, 0, 0, 0, 0),
                "RRULE parts BYMINUTE=30 and INTERVAL=3600 never match together: no FREQ=Secondly step from DTSTART reaches such a time of day",
            ),
            (
                "FREQ=DAILY;UNTIL=20251231T000000",
                jan1,
                "RRULE part UNTIL (2025-12-31T00:00:00) is before DTSTART (2026-01-01T09:00:00)",
            ),
        ] {
            assert_eq!(err(rule, start), want, "{rule}");
        }
        // Parts that meet only with DTSTART or INTERVAL are searched, and end as `Never`.
        for rule in [
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
            "FREQ=DAILY;UNTIL=20260227T000000Z;BYMONTH=2;BYMONTHDAY=28",
            "FREQ=HOURLY;INTERVAL=168;BYDAY=TU",
        ] {
            assert_eq!(
                cal(rule, datetime(2025, 3, 3, 0, 0, 0, 0), "UTC").unwrap_err(),
                WhenError::Never,
                "{rule}"
            );
        }
    }

    /// Leap days, 2026–2430: every four years, but not 2100, 2200, 2300;
    /// 2400 is one. Each FREQ reaches them the same way.
    #[test]
    fn leap_days_follow_the_century_rule() {
        let want = days_where(2026, 2431, 12, |d| d.month() == 2 && d.day() == 29);
        assert_eq!(want.len(), 98);
        for rule in [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12",
            "FREQ=YEARLY;BYYEARDAY=60;BYMONTHDAY=29;BYHOUR=12",
            "FREQ=MONTHLY;BYMONTHDAY=29;BYMONTH=2;BYHOUR=12",
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12",
            "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12",
            "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12;BYMINUTE=0",
            "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12;BYMINUTE=0;BYSECOND=0",
        ] {
            let c = gives(
                rule,
                datetime(2026, 1, 1, 12, 0, 0, 0),
                "2430-12-31T00:00:00Z",
                &want,
            );
            // Asked from just after one, the next is four (or eight) years on.
            assert_eq!(
                c.next_after(ts("2096-02-29T12:00:00Z")).unwrap().at,
                ts("2104-02-29T12:00:00Z"),
                "{rule}"
            );
        }
    }

    /// Friday the 13th, 2026–2225, reached by MONTHLY, YEARLY and DAILY rules.
    #[test]
    fn friday_the_13th_over_two_centuries() {
        let want = days_where(2026, 2226, 9, |d| {
            d.day() == 13 && d.weekday() == Weekday::Friday
        });
        assert!(want.len() > 340, "{}", want.len());
        for rule in [
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            "FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=13",
            "FREQ=DAILY;BYDAY=FR;BYMONTHDAY=13",
            "FREQ=HOURLY;BYDAY=FR;BYMONTHDAY=13;BYHOUR=9",
        ] {
            gives(
                rule,
                datetime(2026, 1, 1, 9, 0, 0, 0),
                "2225-12-31T00:00:00Z",
                &want,
            );
        }
    }

    /// A shared budget (one document's calendars) that runs out refuses the
    /// calendar with a clear error instead of searching on.
    #[test]
    fn a_spent_budget_refuses_the_rule() {
        let rule = RRule::parse("FREQ=DAILY;BYMONTH=12;BYMONTHDAY=31").unwrap();
        let mut budget = Budget::new(100);
        let e = Calendar::new_within(
            &rule,
            datetime(2026, 1, 1, 0, 0, 0, 0),
            TimeZone::UTC,
            DstPolicy::default(),
            &mut budget,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs more than 100 steps of work"), "{e}");
        assert_eq!(budget.left(), 0);
        let mut budget = Budget::new(SEARCH_BUDGET);
        Calendar::new_within(
            &rule,
            datetime(2026, 1, 1, 0, 0, 0, 0),
            TimeZone::UTC,
            DstPolicy::default(),
            &mut budget,
        )
        .unwrap();
        let spent = SEARCH_BUDGET - budget.left();
        assert!((365..2000).contains(&spent), "{spent}");
    }

    /// COUNT rules are counted once and keep only checkpoints; a search
    /// counts on from the one before it. Positions and instants are those
    /// of the same rule without COUNT, up to COUNT, then nothing, in a
    /// zone with DST (Berlin) and across many checkpoints.
    #[test]
    fn count_rules_count_from_checkpoints() {
        let start = datetime(2026, 3, 1, 0, 0, 0, 0);
        let open = cal(
            "FREQ=HOURLY;INTERVAL=3;BYMINUTE=0,20",
            start,
            "Europe/Berlin",
        )
        .unwrap();
        let counted = cal(
            "FREQ=HOURLY;INTERVAL=3;BYMINUTE=0,20;COUNT=5000",
            start,
            "Europe/Berlin",
        )
        .unwrap();
        assert_eq!(counted.counted.as_ref().unwrap().marks.len(), 5);
        let mut at = ts("2026-02-01T00:00:00Z");
        for i in 0..5000u64 {
            let want = open.next_after(at).unwrap().at;
            let got = counted.next_after(at).unwrap();
            assert_eq!((got.at, got.index), (want, i));
            at = got.at;
        }
        assert_eq!(counted.next_after(at), None);
        // Asked from anywhere, the position is the same.
        let o = counted.next_after(ts("2026-09-10T10:10:00Z")).unwrap();
        assert_eq!(o.at, ts("2026-09-10T10:20:00Z"));
        let from_start = (0..)
            .scan(ts("2026-02-01T00:00:00Z"), |at, _| {
                let o = counted.next_after(*at)?;
                *at = o.at;
                Some(o)
            })
            .find(|x| x.at == o.at)
            .unwrap();
        assert_eq!(o.index, from_start.index);
    }

    /// Seeded random rules over every part (large INTERVALs, BYSETPOS far
    /// out, negative days, sub-daily filters, zones with DST) never panic:
    /// each is refused with an error or answers in order.
    #[test]
    fn random_rules_never_panic_and_answer_in_order() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x0EE1_4006);
        let freqs = [
            "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
        ];
        let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
        let zones = [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
        ];
        let mut answered = 0;
        for _ in 0..1500 {
            let mut parts = vec![format!("FREQ={}", freqs[rng.random_range(0..7)])];
            let list = |rng: &mut rand::rngs::StdRng, name: &str, lo: i32, hi: i32, neg: bool| {
                let k = rng.random_range(1..4);
                let v: Vec<String> = (0..k)
                    .map(|_| {
                        let x = rng.random_range(lo..=hi);
                        if neg && rng.random_bool(0.3) { -x } else { x }.to_string()
                    })
                    .collect();
                format!("{name}={}", v.join(","))
            };
            for (name, lo, hi, neg, p) in [
                ("INTERVAL", 1, 400, false, 0.4),
                ("BYMONTH", 1, 12, false, 0.3),
                ("BYMONTHDAY", 1, 31, true, 0.3),
                ("BYHOUR", 0, 23, false, 0.3),
                ("BYMINUTE", 0, 59, false, 0.3),
                ("BYSECOND", 0, 59, false, 0.2),
                ("BYSETPOS", 1, 366, true, 0.2),
            ] {
                if rng.random_bool(p) {
                    parts.push(list(&mut rng, name, lo, hi, neg));
                }
            }
            if parts[0].contains("YEARLY") && rng.random_bool(0.2) {
                parts.push(list(&mut rng, "BYYEARDAY", 1, 366, true));
            }
            if rng.random_bool(0.3) {
                let d = days[rng.random_range(0..7)];
                let monthly = parts[0].contains("MONTHLY") || parts[0].contains("YEARLY");
                parts.push(if monthly && rng.random_bool(0.5) {
                    format!(
                        "BYDAY={}{d}",
                        rng.random_range(1..=4) * if rng.random_bool(0.5) { -1 } else { 1 }
                    )
                } else {
                    format!("BYDAY={d}")
                });
            }
            if rng.random_bool(0.2) {
                parts.push(format!("COUNT={}", rng.random_range(1..3000)));
            }
            let rule = parts.join(";").replace("INTERVAL=1,", "INTERVAL=");
            let Ok(r) = RRule::parse(&rule) else { continue };
            let start = datetime(
                rng.random_range(1990..2040),
                rng.random_range(1..=12),
                rng.random_range(1..=28),
                rng.random_range(0..24),
                rng.random_range(0..60),
                rng.random_range(0..60),
                0,
            );
            let tz = super::super::zone(zones[rng.random_range(0..4)]).unwrap();
            let Ok(c) = Calendar::new(&r, start, tz, DstPolicy::default()) else {
                continue;
            };
            answered += 1;
            let mut at = ts("2030-01-01T00:00:00Z");
            for _ in 0..5 {
                let Some(o) = c.next_after(at) else { break };
                assert!(o.at > at, "{rule}");
                at = o.at;
            }
        }
        assert!(answered > 500, "{answered}");
    }

    /// Duplicated list items cost nothing: lists are sorted and deduplicated.
    #[test]
    fn repeated_by_items_are_merged() {
        let rule = format!("FREQ=DAILY;BYHOUR={}", vec!["3"; 5000].join(","));
        let c = cal(&rule, datetime(2026, 1, 1, 0, 0, 0, 0), "UTC").unwrap();
        assert_eq!(c.hours, [3]);
        assert_eq!(
            c.next_after(ts("2026-01-01T00:00:00Z")).unwrap().at,
            ts("2026-01-01T03:00:00Z")
        );
    }
}
