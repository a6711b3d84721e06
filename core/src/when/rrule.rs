//! Parsing an RFC 5545 RRULE (the subset dmsched supports).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::DateTime;

use super::WhenError;

/// Recurrence frequency, coarsest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Freq {
    /// Every year.
    Yearly,
    /// Every month.
    Monthly,
    /// Every week.
    Weekly,
    /// Every day.
    Daily,
    /// Every hour.
    Hourly,
    /// Every minute.
    Minutely,
    /// Every second.
    Secondly,
}

/// The end of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// `UNTIL=…Z`: compared with the occurrence's instant.
    Instant(Timestamp),
    /// `UNTIL=…` without `Z` (or a date, meaning its midnight): compared with local time.
    Local(DateTime),
}

/// A parsed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RRule {
    /// FREQ.
    pub freq: Freq,
    /// INTERVAL (≥ 1).
    pub interval: u32,
    /// COUNT.
    pub count: Option<u32>,
    /// UNTIL.
    pub until: Option<Until>,
    /// BYMONTH, 1–12.
    pub by_month: Vec<u8>,
    /// BYMONTHDAY, ±1–31.
    pub by_month_day: Vec<i8>,
    /// BYYEARDAY, ±1–366.
    pub by_year_day: Vec<i16>,
    /// BYDAY without ordinal: Monday = 0 … Sunday = 6.
    pub by_weekday: Vec<u8>,
    /// BYDAY with ordinal: (weekday, n), n in ±1–53.
    pub by_nth_weekday: Vec<(u8, i8)>,
    /// BYHOUR, 0–23.
    pub by_hour: Vec<u8>,
    /// BYMINUTE, 0–59.
    pub by_minute: Vec<u8>,
    /// BYSECOND, 0–59.
    pub by_second: Vec<u8>,
    /// BYSETPOS, ±1–366.
    pub by_set_pos: Vec<i16>,
    /// WKST: Monday = 0 … Sunday = 6 (default Monday).
    pub wkst: u8,
    text: String,
}

/// The largest COUNT accepted (occurrences of a COUNT rule are computed up front).
pub const MAX_COUNT: u32 = 100_000;

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn weekday(s: &str) -> Option<u8> {
    DAYS.iter().position(|d| *d == s).map(|i| i as u8)
}

fn list<T: Copy>(
    part: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    valid: &str,
) -> Result<Vec<T>, WhenError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let v = parse(item.trim()).ok_or_else(|| {
            WhenError::RRule(format!(
                "RRULE part {part}: {item:?} is out of range {valid}"
            ))
        })?;
        out.push(v);
    }
    Ok(out)
}

fn int_in(lo: i32, hi: i32, nonzero: bool) -> impl Fn(&str) -> Option<i32> {
    move |s: &str| {
        let v: i32 = s.strip_prefix('+').unwrap_or(s).parse().ok()?;
        (v >= lo && v <= hi && !(nonzero && v == 0)).then_some(v)
    }
}

fn parse_until(v: &str) -> Option<Until> {
    let (body, utc) = match v.strip_suffix('Z') {
        Some(b) => (b, true),
        None => (v, false),
    };
    let num = |r: std::ops::Range<usize>| body.get(r)?.parse::<i64>().ok();
    let time = match body.len() {
        8 => None,
        15 if body.as_bytes()[8] == b'T' => Some(&body[9..]),
        _ => return None,
    };
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = match time {
        Some(_) => (num(9..11)?, num(11..13)?, num(13..15)?),
        None => (0, 0, 0),
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let dt = DateTime::new(y as i16, m as i8, d as i8, hh as i8, mm as i8, ss as i8, 0).ok()?;
    if utc {
        time?;
        Some(Until::Instant(
            jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()?,
        ))
    } else {
        Some(Until::Local(dt))
    }
}

/// One problem of a rule: what is wrong, and the bytes of the rule's
/// text (as given) it is about — for a caret under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RRuleProblem {
    /// What is wrong.
    pub message: String,
    /// Where, as a byte range of the text given to [`RRule::parse_all`].
    pub span: std::ops::Range<usize>,
}

/// The RRULE part names dmsched knows (BYWEEKNO is refused by name).
pub const PARTS: [&str; 14] = [
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYMONTH",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
    "WKST",
    "BYWEEKNO",
];

const FREQS: [&str; 7] = [
    "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
];

fn did_you_mean(word: &str, candidates: &[&'static str]) -> String {
    match crate::model::diagnose::did_you_mean(word, candidates.iter().copied()) {
        Some(c) => format!(" (did you mean {c}?)"),
        None => String::new(),
    }
}

impl RRule {
    /// Parses `FREQ=…;…` (an optional leading `RRULE:` is accepted).
    /// Names and values are case-insensitive (RFC 5545 §3.1); the first
    /// problem only — see [`RRule::parse_all`].
    pub fn parse(s: &str) -> Result<RRule, WhenError> {
        RRule::parse_all(s).map_err(|mut v| WhenError::RRule(v.swap_remove(0).message))
    }

    /// As [`RRule::parse`], with every problem of the rule: each part is
    /// checked on its own, then the parts together.
    pub fn parse_all(s: &str) -> Result<RRule, Vec<RRuleProblem>> {
        let lead = s.len() - s.trim_start().len();
        let text = s.trim();
        let (body, body_at) = match text.get(..6) {
            Some(p) if p.eq_ignore_ascii_case("RRULE:") => (&text[6..], lead + 6),
            _ => (text, lead),
        };
        let whole = lead..lead + text.len();
        if body.is_empty() {
            return Err(vec![RRuleProblem {
                message: "empty RRULE".into(),
                span: whole,
            }]);
        }
        let mut r = RRule {
            freq: Freq::Daily,
            interval: 1,
            count: None,
            until: None,
            by_month: vec![],
            by_month_day: vec![],
            by_year_day: vec![],
            by_weekday: vec![],
            by_nth_weekday: vec![],
            by_hour: vec![],
            by_minute: vec![],
            by_second: vec![],
            by_set_pos: vec![],
            wkst: 0,
            text: text.to_string(),
        };
        let mut problems = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut freq = None;
        let mut at = body_at;
        for part in body.split(';') {
            let span = at..at + part.len();
            at += part.len() + 1;
            let upper = part.to_ascii_uppercase();
            if let Err(message) = apply_part(&mut r, &mut freq, &mut seen, part, &upper) {
                problems.push(RRuleProblem { message, span });
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let fail = |message: String| {
            Err(vec![RRuleProblem {
                message,
                span: whole.clone(),
            }])
        };
        let Some(freq) = freq else {
            return fail("RRULE needs a FREQ part".into());
        };
        r.freq = freq;
        if r.count.is_some() && r.until.is_some() {
            return fail("RRULE may have COUNT or UNTIL, not both".into());
        }
        if !r.by_nth_weekday.is_empty() {
            let limit = match r.freq {
                Freq::Monthly => 5,
                Freq::Yearly if r.by_month.is_empty() => 53,
                Freq::Yearly => 5,
                _ => {
                    return fail(
                        "RRULE part BYDAY: an ordinal like 2MO or -1SU needs FREQ=MONTHLY or FREQ=YEARLY".into(),
                    );
                }
            };
            if let Some((_, n)) = r
                .by_nth_weekday
                .iter()
                .find(|(_, n)| n.unsigned_abs() > limit)
            {
                return fail(format!(
                    "RRULE part BYDAY: ordinal {n} is out of range ±1..={limit} for this frequency"
                ));
            }
        }
        if !r.by_month_day.is_empty() && r.freq == Freq::Weekly {
            return fail("RRULE part BYMONTHDAY is not allowed with FREQ=WEEKLY".into());
        }
        if !r.by_year_day.is_empty() && matches!(r.freq, Freq::Monthly | Freq::Weekly | Freq::Daily)
        {
            return fail(
                "RRULE part BYYEARDAY is not allowed with FREQ=MONTHLY, WEEKLY or DAILY".into(),
            );
        }
        Ok(r)
    }
}

/// Applies one `NAME=VALUE` part (`upper`: the part in upper case).
fn apply_part(
    r: &mut RRule,
    freq: &mut Option<Freq>,
    seen: &mut Vec<String>,
    part: &str,
    upper: &str,
) -> Result<(), String> {
    let e = |m: String| -> Result<(), String> { Err(m) };
    let Some((k, v)) = upper.split_once('=') else {
        return e(format!("RRULE part {part:?} is not NAME=VALUE"));
    };
    let k = k.trim();
    let v = v.trim();
    if seen.iter().any(|s| s == k) {
        return e(format!("RRULE part {k} appears twice"));
    }
    seen.push(k.to_string());
    if v.is_empty() {
        return e(format!("RRULE part {k} has no value"));
    }
    let w = |x: WhenError| x.to_string();
    match k {
        "FREQ" => {
            *freq = Some(match v {
                "YEARLY" => Freq::Yearly,
                "MONTHLY" => Freq::Monthly,
                "WEEKLY" => Freq::Weekly,
                "DAILY" => Freq::Daily,
                "HOURLY" => Freq::Hourly,
                "MINUTELY" => Freq::Minutely,
                "SECONDLY" => Freq::Secondly,
                _ => {
                    return e(format!(
                        "RRULE part FREQ: unknown frequency {v:?}{}",
                        did_you_mean(v, &FREQS)
                    ));
                }
            })
        }
        "INTERVAL" => {
            r.interval = v
                .parse::<u32>()
                .ok()
                .filter(|i| (1..=100_000).contains(i))
                .ok_or_else(|| {
                    format!("RRULE part INTERVAL: {v:?} is not an integer in 1..=100000")
                })?
        }
        "COUNT" => {
            r.count = Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|c| (1..=MAX_COUNT).contains(c))
                    .ok_or_else(|| {
                        format!("RRULE part COUNT: {v:?} is not an integer in 1..={MAX_COUNT}")
                    })?,
            )
        }
        "UNTIL" => {
            r.until = Some(parse_until(v).ok_or_else(|| {
                format!(
                    "RRULE part UNTIL: {v:?} is not YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ"
                )
            })?)
        }
        "BYMONTH" => {
            r.by_month =
                list(k, v, |s| int_in(1, 12, false)(s).map(|x| x as u8), "1..=12").map_err(w)?
        }
        "BYMONTHDAY" => {
            r.by_month_day = list(
                k,
                v,
                |s| int_in(-31, 31, true)(s).map(|x| x as i8),
                "-31..=31 (excluding 0)",
            )
            .map_err(w)?
        }
        "BYYEARDAY" => {
            r.by_year_day = list(
                k,
                v,
                |s| int_in(-366, 366, true)(s).map(|x| x as i16),
                "-366..=366 (excluding 0)",
            )
            .map_err(w)?
        }
        "BYHOUR" => {
            r.by_hour =
                list(k, v, |s| int_in(0, 23, false)(s).map(|x| x as u8), "0..=23").map_err(w)?
        }
        "BYMINUTE" => {
            r.by_minute =
                list(k, v, |s| int_in(0, 59, false)(s).map(|x| x as u8), "0..=59").map_err(w)?
        }
        "BYSECOND" => {
            r.by_second =
                list(k, v, |s| int_in(0, 59, false)(s).map(|x| x as u8), "0..=59").map_err(w)?
        }
        "BYSETPOS" => {
            r.by_set_pos = list(
                k,
                v,
                |s| int_in(-366, 366, true)(s).map(|x| x as i16),
                "-366..=366 (excluding 0)",
            )
            .map_err(w)?
        }
        "WKST" => {
            r.wkst = weekday(v).ok_or_else(|| format!("RRULE part WKST: {v:?} is not MO..SU"))?
        }
        "BYDAY" => {
            for item in v.split(',') {
                let item = item.trim();
                let bad =
                    || format!("RRULE part BYDAY: {item:?} is not [±n]MO..SU with n in 1..=53");
                // The day is the last two bytes; anything that is not
                // ASCII there (or too short) is simply not a day.
                let Some((n, d)) = item
                    .len()
                    .checked_sub(2)
                    .filter(|&i| item.is_char_boundary(i))
                    .map(|i| item.split_at(i))
                else {
                    return e(bad());
                };
                let wd = weekday(d).ok_or_else(bad)?;
                if n.is_empty() {
                    r.by_weekday.push(wd);
                } else {
                    let n = int_in(-53, 53, true)(n).ok_or_else(bad)?;
                    r.by_nth_weekday.push((wd, n as i8));
                }
            }
        }
        "BYWEEKNO" => {
            return e(
                "RRULE part BYWEEKNO is not supported (not in this device's Capabilities/RRuleParts)"
                    .into(),
            );
        }
        _ => {
            return e(format!(
                "RRULE part {k:?} is unknown{}",
                did_you_mean(k, &PARTS)
            ));
        }
    }
    Ok(())
}

impl RRule {
    /// The rule in canonical form: upper case, parts in a fixed order
    /// (FREQ, INTERVAL, COUNT/UNTIL, BYMONTH, BYYEARDAY, BYMONTHDAY,
    /// BYDAY, BYHOUR, BYMINUTE, BYSECOND, BYSETPOS, WKST), defaults left
    /// out — what `dmsched next` shows.
    pub fn normalized(&self) -> String {
        fn join<T: fmt::Display>(v: &[T]) -> String {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }
        let mut parts = vec![format!("FREQ={}", FREQS[self.freq as usize])];
        if self.interval != 1 {
            parts.push(format!("INTERVAL={}", self.interval));
        }
        if let Some(c) = self.count {
            parts.push(format!("COUNT={c}"));
        }
        match self.until {
            Some(Until::Instant(t)) => {
                parts.push(format!("UNTIL={}", t.strftime("%Y%m%dT%H%M%SZ")))
            }
            Some(Until::Local(d)) => parts.push(format!("UNTIL={}", d.strftime("%Y%m%dT%H%M%S"))),
            None => {}
        }
        let lists: [(&str, String); 3] = [
            ("BYMONTH", join(&self.by_month)),
            ("BYYEARDAY", join(&self.by_year_day)),
            ("BYMONTHDAY", join(&self.by_month_day)),
        ];
        for (k, v) in lists {
            if !v.is_empty() {
                parts.push(format!("{k}={v}"));
            }
        }
        let days: Vec<String> = self
            .by_nth_weekday
            .iter()
            .map(|(d, n)| format!("{n}{}", DAYS[usize::from(*d)]))
            .chain(
                self.by_weekday
                    .iter()
                    .map(|d| DAYS[usize::from(*d)].to_string()),
            )
            .collect();
        if !days.is_empty() {
            parts.push(format!("BYDAY={}", days.join(",")));
        }
        let lists: [(&str, String); 4] = [
            ("BYHOUR", join(&self.by_hour)),
            ("BYMINUTE", join(&self.by_minute)),
            ("BYSECOND", join(&self.by_second)),
            ("BYSETPOS", join(&self.by_set_pos)),
        ];
        for (k, v) in lists {
            if !v.is_empty() {
                parts.push(format!("{k}={v}"));
            }
        }
        if self.wkst != 0 {
            parts.push(format!("WKST={}", DAYS[usize::from(self.wkst)]));
        }
        parts.join(";")
    }
}

impl FromStr for RRule {
    type Err = WhenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RRule::parse(s)
    }
}

impl fmt::Display for RRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        RRule::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_supported_part() {
        let r = RRule::parse("RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYMONTH=1,7;BYMONTHDAY=-1,15;BYDAY=MO,-1SU;BYHOUR=3;BYMINUTE=0,30;BYSECOND=5;BYSETPOS=-1;WKST=SU").unwrap();
        assert_eq!(r.freq, Freq::Monthly);
        assert_eq!(r.interval, 2);
        assert_eq!(r.count, Some(10));
        assert_eq!(r.by_month, vec![1, 7]);
        assert_eq!(r.by_month_day, vec![-1, 15]);
        assert_eq!(r.by_weekday, vec![0]);
        assert_eq!(r.by_nth_weekday, vec![(6, -1)]);
        assert_eq!(r.by_minute, vec![0, 30]);
        assert_eq!(r.by_set_pos, vec![-1]);
        assert_eq!(r.wkst, 6);
    }

    #[test]
    fn rrule_bymonthday_out_of_range_is_rejected() {
        assert_eq!(
            err("FREQ=MONTHLY;BYMONTHDAY=32"),
            "RRULE part BYMONTHDAY: \"32\" is out of range -31..=31 (excluding 0)"
        );
        assert!(err("FREQ=MONTHLY;BYMONTHDAY=0").contains("excluding 0"));
    }

    #[test]
    fn bad_rules_get_clear_errors() {
        assert_eq!(err("BYHOUR=3"), "RRULE needs a FREQ part");
        assert!(err("FREQ=FORTNIGHTLY").contains("unknown frequency"));
        assert!(err("FREQ=DAILY;INTERVAL=0").contains("INTERVAL"));
        assert!(err("FREQ=DAILY;COUNT=3;UNTIL=20260101T000000Z").contains("not both"));
        assert!(err("FREQ=DAILY;BYHOUR=24").contains("BYHOUR"));
        assert!(err("FREQ=DAILY;FREQ=DAILY").contains("twice"));
        assert!(err("FREQ=DAILY;COLOUR=RED").contains("unknown"));
        assert!(err("FREQ=WEEKLY;BYDAY=1MO").contains("needs FREQ=MONTHLY"));
        assert!(err("FREQ=MONTHLY;BYDAY=6MO").contains("out of range"));
        assert!(err("FREQ=DAILY;UNTIL=2026-01-01").contains("UNTIL"));
        assert!(err("FREQ=DAILY;BYDAY=XX").contains("BYDAY"));
        assert!(err("FREQ=DAILY;BYMONTH=").contains("no value"));
        assert!(err("FREQ=DAILY;COUNT=1000000").contains("COUNT"));
        assert!(err("FREQ=YEARLY;BYWEEKNO=1").contains("not supported"));
        assert!(err("").contains("empty"));
    }

    /// Issue 17: every bad part of a rule in one run, each with the bytes
    /// it is about; names and values case-insensitive (RFC 5545 §3.1).
    #[test]
    fn every_bad_part_at_once_with_spans_and_suggestions() {
        let rule = "FREQ=DAILY;BYDAY=FX;BYMINUT=5";
        let v = RRule::parse_all(rule).unwrap_err();
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].message.contains("BYDAY"));
        assert_eq!(&rule[v[0].span.clone()], "BYDAY=FX");
        assert!(
            v[1].message.contains("did you mean BYMINUTE?"),
            "{}",
            v[1].message
        );
        assert_eq!(&rule[v[1].span.clone()], "BYMINUT=5");
        // Spans count from the text as given (leading blanks, prefix).
        let rule = "  rrule:FREQ=DAYLY";
        let v = RRule::parse_all(rule).unwrap_err();
        assert_eq!(&rule[v[0].span.clone()], "FREQ=DAYLY");
        assert!(
            v[0].message.contains("did you mean DAILY?"),
            "{}",
            v[0].message
        );
        let lower = RRule::parse("freq=weekly;byday=mo,-1su;until=20261231t000000z");
        assert!(lower.is_err(), "an ordinal BYDAY needs MONTHLY");
        let r = RRule::parse("freq=monthly;byday=mo,-1su;until=20261231t000000z;wkst=su").unwrap();
        assert_eq!(r.freq, Freq::Monthly);
        assert_eq!(r.by_nth_weekday, vec![(6, -1)]);
        assert_eq!(r.wkst, 6);
        assert!(matches!(r.until, Some(Until::Instant(_))));
    }

    /// `dmsched next` shows rules in one canonical form.
    #[test]
    fn rules_normalise_to_one_canonical_form() {
        for (given, want) in [
            ("byhour=3;freq=daily", "FREQ=DAILY;BYHOUR=3"),
            (
                "RRULE:wkst=su;byday=-1su,mo;freq=monthly;interval=2;until=20261231t235959z",
                "FREQ=MONTHLY;INTERVAL=2;UNTIL=20261231T235959Z;BYDAY=-1SU,MO;WKST=SU",
            ),
            (
                "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1;COUNT=5;WKST=MO",
                "FREQ=YEARLY;COUNT=5;BYMONTH=3;BYMONTHDAY=1",
            ),
        ] {
            let r = RRule::parse(given).unwrap();
            assert_eq!(r.normalized(), want);
            // The canonical form means the same rule.
            assert_eq!(RRule::parse(want).unwrap().normalized(), want);
        }
    }

    #[test]
    fn until_forms() {
        let r = RRule::parse("FREQ=DAILY;UNTIL=20260301T120000Z").unwrap();
        assert_eq!(
            r.until,
            Some(Until::Instant("2026-03-01T12:00:00Z".parse().unwrap()))
        );
        let r = RRule::parse("FREQ=DAILY;UNTIL=20260301T120000").unwrap();
        assert_eq!(
            r.until,
            Some(Until::Local(jiff::civil::datetime(2026, 3, 1, 12, 0, 0, 0)))
        );
        let r = RRule::parse("FREQ=DAILY;UNTIL=20260301").unwrap();
        assert_eq!(
            r.until,
            Some(Until::Local(jiff::civil::datetime(2026, 3, 1, 0, 0, 0, 0)))
        );
    }

    /// Issue 14 item 6: a BYDAY item whose last two bytes are not a
    /// character boundary (non-ASCII) panicked; it is a clear error.
    #[test]
    fn non_ascii_byday_items_are_errors_not_panics() {
        for rule in [
            "FREQ=DAILY;BYDAY=€",
            "FREQ=DAILY;BYDAY=-ϲU",
            "FREQ=WEEKLY;BYDAY=MO,ü",
            "FREQ=WEEKLY;BYDAY=1€",
            "FREQ=WEEKLY;BYDAY=é",
        ] {
            let err = RRule::parse(rule).unwrap_err().to_string();
            assert!(err.contains("BYDAY"), "{rule}: {err}");
        }
    }

    /// Seeded random strings built from RRULE words, digits, separators
    /// and multi-byte characters never panic the parser.
    #[test]
    fn random_rrule_strings_never_panic() {
        use rand::{RngExt, SeedableRng};
        const PIECES: [&str; 24] = [
            "FREQ=",
            "DAILY",
            "WEEKLY",
            "MONTHLY",
            "YEARLY",
            "BYDAY=",
            "BYMONTHDAY=",
            "BYSETPOS=",
            "UNTIL=",
            "COUNT=",
            "INTERVAL=",
            "MO",
            "SU",
            "-",
            "+",
            "1",
            "53",
            ",",
            ";",
            "=",
            "T",
            "Z",
            "€",
            "ϲ",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x0EE1_0006);
        for _ in 0..20_000 {
            let n = rng.random_range(1..12);
            let s: String = (0..n)
                .map(|_| PIECES[rng.random_range(0..PIECES.len())])
                .collect();
            let _ = RRule::parse(&s);
        }
    }
}
