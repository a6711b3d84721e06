//! Expanding an RRULE from a local DTSTART in a zone, with the semantics of
//! RFC 5545 as implemented by python-dateutil (the test oracle).
//!
//! The rule is expanded in local civil time, period by period (a year, a
//! month, a week from WKST, a day, an hour, a minute or a second, every
//! INTERVAL periods from DTSTART's); BYxxx parts filter or expand each
//! period; BYSETPOS picks from the period's sorted set; local times before
//! DTSTART are dropped. Each local time is then mapped to instants by the
//! DST policy.

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
}

/// How far ahead a search for the next occurrence goes: 400 years.
const HORIZON_SECONDS: i64 = 400 * 366 * 86_400;

/// Most periods one search looks at (bounds rules whose filters can never
/// all hold at once, e.g. MINUTELY;INTERVAL=90;BYHOUR=2).
const MAX_PERIODS: u32 = 3_000_000;

/// Most local instants one period may expand to (days it can hold × the
/// BYHOUR × BYMINUTE × BYSECOND combinations): expanding and sorting more
/// per period would let one rule cost seconds and hundreds of MB.
pub const MAX_INSTANTS_PER_PERIOD: u64 = 20_000;

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

/// A rule in a zone, ready to answer "what comes next".
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
    /// Seconds of the day generated for each selected day (DAILY and coarser).
    times: Vec<i64>,
    wkst: u8,
    start: i64,
    start_day: i64,
    tz: TimeZone,
    dst: DstPolicy,
    /// All occurrences of a COUNT rule, computed up front.
    counted: Option<Vec<Occurrence>>,
}

impl Calendar {
    /// Prepares `rule` from local `dtstart` in `tz`. Fails if the rule can
    /// never produce an occurrence.
    pub fn new(
        rule: &RRule,
        dtstart: DateTime,
        tz: TimeZone,
        dst: DstPolicy,
    ) -> Result<Calendar, WhenError> {
        let start = local_seconds(dtstart);
        let start_day = start.div_euclid(86_400);
        let (_, m0, d0) = civil_from_days(start_day);
        let mut months = rule.by_month.clone();
        let mut month_days = rule.by_month_day.clone();
        let mut weekdays = rule.by_weekday.clone();
        let no_day_rule = rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_weekday.is_empty()
            && rule.by_nth_weekday.is_empty();
        if no_day_rule {
            match rule.freq {
                Freq::Yearly => {
                    if months.is_empty() {
                        months.push(m0 as u8);
                    }
                    month_days.push(d0 as i8);
                }
                Freq::Monthly => month_days.push(d0 as i8),
                Freq::Weekly => weekdays.push(weekday(start_day)),
                _ => {}
            }
        }
        let sod = start.rem_euclid(86_400);
        let dflt = |v: &[u8], coarser: bool, x: i64| -> Vec<u8> {
            let mut v = v.to_vec();
            if v.is_empty() && coarser {
                v.push(x as u8);
            }
            v.sort_unstable();
            v.dedup();
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
        let mut times = Vec::new();
        if rule.freq <= Freq::Daily {
            for h in &hours {
                for m in &minutes {
                    for s in &seconds {
                        times.push(i64::from(*h) * 3600 + i64::from(*m) * 60 + i64::from(*s));
                    }
                }
            }
            times.sort_unstable();
        }
        // Bounded work: a rule whose period can hold more instants than the
        // budget is refused before anything is expanded.
        if rule.freq <= Freq::Daily {
            let months_n = if months.is_empty() {
                12
            } else {
                months.len() as u64
            };
            let per_month = if !rule.by_year_day.is_empty() {
                None
            } else if !month_days.is_empty() {
                Some(month_days.len() as u64)
            } else if !weekdays.is_empty() || !rule.by_nth_weekday.is_empty() {
                Some(5 * weekdays.len() as u64 + rule.by_nth_weekday.len() as u64)
            } else {
                None
            };
            let days: u64 = match rule.freq {
                Freq::Yearly => match per_month {
                    _ if !rule.by_year_day.is_empty() => rule.by_year_day.len() as u64,
                    Some(n) => (months_n * n).min(366),
                    None => 366,
                },
                Freq::Monthly => per_month.unwrap_or(31).min(31),
                Freq::Weekly => (weekdays.len().max(1) as u64).min(7),
                _ => 1,
            };
            let instants = days.saturating_mul(times.len() as u64);
            if instants > MAX_INSTANTS_PER_PERIOD {
                return Err(WhenError::RRule(format!(
                    "RRULE expands to up to {instants} instants per {:?} period \
                     ({days} days × {} times of day); at most {MAX_INSTANTS_PER_PERIOD}: \
                     use a finer FREQ (e.g. FREQ=HOURLY or MINUTELY with BYHOUR)",
                    rule.freq,
                    times.len()
                )));
            }
        }
        let mut cal = Calendar {
            freq: rule.freq,
            interval: i64::from(rule.interval),
            until: rule.until,
            months,
            month_days,
            year_days: rule.by_year_day.clone(),
            weekdays,
            nth_weekdays: rule.by_nth_weekday.clone(),
            hours,
            minutes,
            seconds,
            set_pos: rule.by_set_pos.clone(),
            times,
            wkst: rule.wkst,
            start,
            start_day,
            tz,
            dst,
            counted: None,
        };
        if let Some(count) = rule.count {
            let mut out = Vec::new();
            let mut n = 0u64;
            cal.scan(0, start + HORIZON_SECONDS, &mut |l| {
                if n >= u64::from(count) {
                    return true;
                }
                if let Some(dt) = super::civil::datetime_from_seconds(l) {
                    for t in resolve_local(dt, &cal.tz, cal.dst) {
                        out.push(Occurrence { at: t, index: n });
                    }
                }
                n += 1;
                n >= u64::from(count)
            });
            if n == 0 {
                return Err(WhenError::Never);
            }
            cal.counted = Some(out);
        } else {
            let mut any = false;
            cal.scan(0, start + HORIZON_SECONDS, &mut |l| {
                any = cal.until_allows_local(l);
                true
            });
            if !any {
                return Err(WhenError::Never);
            }
        }
        Ok(cal)
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
        if let Some(all) = &self.counted {
            let i = all.partition_point(|o| o.at <= after);
            return all.get(i).copied();
        }
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
        let k0 = self.period_of(lo);
        let mut found = None;
        self.scan(k0, after_local + HORIZON_SECONDS, &mut |l| {
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
                    found = Some(Occurrence {
                        at: t,
                        index: (l - self.start) as u64 * 2 + j as u64,
                    });
                    return true;
                }
            }
            false
        });
        found
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

    /// Calls `f` with each local time (seconds) of the recurrence set from
    /// period `k` on, in order, until `f` returns true or local time passes `stop`.
    fn scan(&self, mut k: i64, stop: i64, f: &mut dyn FnMut(i64) -> bool) {
        let mut buf = Vec::new();
        for _ in 0..MAX_PERIODS {
            let Some(first) = self.period_start(k) else {
                return;
            };
            if first > stop {
                return;
            }
            buf.clear();
            let skip_to = self.expand(k, &mut buf);
            for &l in &buf {
                if l >= self.start && f(l) {
                    return;
                }
            }
            k = skip_to.unwrap_or(k + 1);
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

    /// Fills `out` with period `k`'s local times (sorted, BYSETPOS applied).
    /// For sub-daily rules whose day is filtered out, returns the first
    /// period of the next day to skip to.
    fn expand(&self, k: i64, out: &mut Vec<i64>) -> Option<i64> {
        let ps = self.period_start(k)?;
        let pday = ps.div_euclid(86_400);
        match self.freq {
            Freq::Yearly | Freq::Monthly | Freq::Weekly | Freq::Daily => {
                let (y, m, _) = civil_from_days(pday);
                let days: Vec<i64> = match self.freq {
                    Freq::Yearly if !self.months.is_empty() => {
                        let mut ms = self.months.clone();
                        ms.sort_unstable();
                        ms.dedup();
                        ms.iter()
                            .flat_map(|&mm| {
                                let first = days_from_civil(y, u32::from(mm), 1);
                                first..first + i64::from(month_len(y, u32::from(mm)))
                            })
                            .collect()
                    }
                    Freq::Yearly => (pday..pday + i64::from(year_len(y))).collect(),
                    Freq::Monthly => (pday..pday + i64::from(month_len(y, m))).collect(),
                    Freq::Weekly => {
                        let end = self.week_start(pday) + 7;
                        (pday..end).collect()
                    }
                    _ => vec![pday],
                };
                for d in days.into_iter().filter(|d| self.day_ok(*d)) {
                    for t in &self.times {
                        out.push(d * 86_400 + t);
                    }
                }
            }
            Freq::Hourly | Freq::Minutely | Freq::Secondly => {
                if !self.day_ok(pday) {
                    let next_day = (pday + 1) * 86_400;
                    let unit = match self.freq {
                        Freq::Hourly => 3600,
                        Freq::Minutely => 60,
                        _ => 1,
                    };
                    let base = match self.freq {
                        Freq::Secondly => self.start,
                        _ => self.start.div_euclid(unit) * unit,
                    };
                    let step = unit * self.interval;
                    let kk = (next_day - base + step - 1).div_euclid(step);
                    return Some(kk.max(k + 1));
                }
                let sod = ps - pday * 86_400;
                let (h, mi, s) = (
                    (sod / 3600) as u8,
                    (sod % 3600 / 60) as u8,
                    (sod % 60) as u8,
                );
                if !self.hours.is_empty() && !self.hours.contains(&h) {
                    return None;
                }
                match self.freq {
                    Freq::Hourly => {
                        for m in &self.minutes {
                            for sec in &self.seconds {
                                out.push(ps + i64::from(*m) * 60 + i64::from(*sec));
                            }
                        }
                    }
                    Freq::Minutely => {
                        if !self.minutes.is_empty() && !self.minutes.contains(&mi) {
                            return None;
                        }
                        for sec in &self.seconds {
                            out.push(ps + i64::from(*sec));
                        }
                    }
                    _ => {
                        if (!self.minutes.is_empty() && !self.minutes.contains(&mi))
                            || (!self.seconds.is_empty() && !self.seconds.contains(&s))
                        {
                            return None;
                        }
                        out.push(ps);
                    }
                }
            }
        }
        out.sort_unstable();
        if !self.set_pos.is_empty() && !out.is_empty() {
            let n = out.len() as i64;
            let mut picked: Vec<i64> = self
                .set_pos
                .iter()
                .filter_map(|&p| {
                    let i = if p > 0 {
                        i64::from(p) - 1
                    } else {
                        n + i64::from(p)
                    };
                    (0..n).contains(&i).then(|| out[i as usize])
                })
                .collect();
            picked.sort_unstable();
            picked.dedup();
            *out = picked;
        }
        None
    }
}
