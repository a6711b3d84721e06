//! `Quiet`: idle ticks answered without the engine must be indistinguishable
//! from ticks the engine ran itself, including across clock changes
//! (docs/time.md; bindings' lock-free fast path, issue 3).

mod common;

use common::*;
use dmsched::{Engine, Quiet};
use jiff::{SignedDuration, Timestamp};

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// Ticks through `q` the way the bindings do: the fast path first.
fn gated_tick(q: &Quiet, e: &mut Engine, now_ms: i64) -> usize {
    if q.tick_is_noop(now_ms) {
        return 0;
    }
    q.around(e, |e| e.tick(at(now_ms)).unwrap().len())
}

const EVERY: &str = r#"{"every": {"seconds": 600, "anchor": "2026-01-01T00:00:00Z"}}"#;
const CAL: &str = r#"{"calendar": {"rrule": "FREQ=HOURLY;BYMINUTE=7", "dtstart": "2026-01-01T00:07:00", "tz": "Europe/Berlin"}}"#;

/// Two schedules, then a first tick: the engine has seen no clock before
/// one (a submit does not count), so only then is there a span.
fn setup(e: &mut Engine, t0: Timestamp) {
    e.submit("srv", &doc("every", EVERY, ""), t0).unwrap();
    e.submit("srv", &doc("cal", CAL, ""), t0).unwrap();
    e.tick(t0).unwrap();
}

#[test]
fn a_span_admits_nothing_until_published() {
    let q = Quiet::new();
    assert!(!q.tick_is_noop(0));
    assert!(!q.tick_is_noop(1_767_225_600_000));
    assert_eq!(q.next_wakeup(), None);
}

#[test]
fn ticks_before_the_next_wakeup_are_quiet_and_the_wakeup_is_not() {
    let w = World::new();
    let mut e = engine(&w);
    let q = Quiet::new();
    let t0 = ts("2026-01-01T00:00:30Z");
    q.around(&mut e, |e| setup(e, t0));
    let wake = e.next_wakeup().unwrap();
    assert_eq!(q.next_wakeup(), Some(Some(ms(wake))));
    assert!(q.tick_is_noop(ms(t0)));
    assert!(q.tick_is_noop(ms(wake) - 1));
    assert!(!q.tick_is_noop(ms(wake)), "due at the wake-up");
    assert!(
        !q.tick_is_noop(ms(t0) - 2_000),
        "before the latest instant seen: a clock change, the engine judges"
    );
    assert_eq!(gated_tick(&q, &mut e, ms(wake)), 1);
    assert_eq!(w.run_count(), 1);
}

#[test]
fn the_span_is_closed_while_a_call_runs_and_after_a_panic() {
    let w = World::new();
    let mut e = engine(&w);
    let q = Quiet::new();
    let t0 = ts("2026-01-01T00:00:30Z");
    q.around(&mut e, |e| setup(e, t0));
    assert!(q.tick_is_noop(ms(t0)));
    q.around(&mut e, |_| {
        assert!(!q.tick_is_noop(ms(t0)), "closed during a call");
        assert_eq!(q.next_wakeup(), None);
    });
    assert!(q.tick_is_noop(ms(t0)));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        q.around(&mut e, |_| panic!("boom"))
    }));
    assert!(r.is_err());
    assert!(!q.tick_is_noop(ms(t0)), "still closed after a panic");
    q.publish(&e);
    assert!(q.tick_is_noop(ms(t0)));
    q.close();
    assert!(!q.tick_is_noop(ms(t0)));
    assert_eq!(q.next_wakeup(), None);
}

#[test]
fn settled_firings_waiting_to_be_handed_out_make_the_next_tick_not_quiet() {
    let w = World::new();
    let mut e = engine(&w);
    let q = Quiet::new();
    let t0 = ts("2026-01-01T00:30:00Z");
    let postponed = doc(
        "p",
        r#"{"every": {"seconds": 3600, "anchor": "2026-01-01T01:00:00Z"}}"#,
        r#""policy": {"confirm": true}, "constraints": {"max_delay_seconds": 1800}"#,
    );
    *w.prompt_answer.lock().unwrap() = Some(dmsched::PromptAnswer::Postpone(600));
    let t1 = ts("2026-01-01T01:00:00Z");
    q.around(&mut e, |e| {
        e.submit("srv", &postponed, t0).unwrap();
        assert!(e.tick(t1).unwrap().is_empty(), "postponed");
        // Terminating settles the pending occurrence: its firing waits for the next call.
        e.terminate("srv", "srv", "p", t1).unwrap();
    });
    assert_eq!(e.quiet_span(), None, "a settled firing waits");
    assert!(!q.tick_is_noop(ms(t1)));
    let handed = q.around(&mut e, |e| e.tick(t1).unwrap());
    assert_eq!(handed.len(), 1);
    assert!(e.quiet_span().is_some());
    assert!(q.tick_is_noop(ms(t1)));
}

/// A tiny deterministic generator (no dependency on rand's API).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Differential: the same tick sequence (steps forward, many idle ticks,
/// clock jumps back and forward) run directly and through `Quiet` gives the
/// same runs at the same instants and the same plans.
#[test]
fn gated_ticks_match_direct_ticks_across_clock_changes() {
    for seed in 1..=20u64 {
        let (wa, wb) = (World::new(), World::new());
        let (mut a, mut b) = (engine(&wa), engine(&wb));
        let q = Quiet::new();
        let t0 = ts("2026-01-01T00:00:00Z");
        setup(&mut a, t0);
        q.around(&mut b, |e| setup(e, t0));
        let mut rng = Lcg(seed);
        let mut now = ms(t0);
        let (mut fired_a, mut fired_b) = (0, 0);
        for _ in 0..600 {
            now += match rng.next(20) {
                0 => -(rng.next(3_600) as i64 + 2) * 1_000, // clock back
                1 => rng.next(7_200) as i64 * 1_000,        // jump forward
                2 => 0,                                     // the same instant again
                3 => -(rng.next(900) as i64),               // jitter under a second
                _ => rng.next(60_000) as i64,               // idle steps
            };
            fired_a += a.tick(at(now)).unwrap().len();
            fired_b += gated_tick(&q, &mut b, now);
        }
        assert_eq!(fired_a, fired_b, "seed {seed}: firings");
        assert_eq!(wa.run_times(), wb.run_times(), "seed {seed}: run instants");
        assert_eq!(
            a.next_wakeup(),
            b.next_wakeup(),
            "seed {seed}: next wake-up"
        );
        for id in ["every", "cal"] {
            let (ia, ib) = (
                a.get("srv", "srv", id).unwrap(),
                b.get("srv", "srv", id).unwrap(),
            );
            assert_eq!(
                format!("{:?}", ia.tasks),
                format!("{:?}", ib.tasks),
                "seed {seed}: {id}"
            );
        }
        assert!(
            wa.run_count() > 0,
            "seed {seed}: the sequence ran something"
        );
    }
}

/// The clock going back after a run of idle ticks answered without the
/// engine is still seen as going back from the latest of them.
#[test]
fn clock_back_after_quiet_ticks_is_measured_from_the_latest_one() {
    let (wa, wb) = (World::new(), World::new());
    let (mut a, mut b) = (engine(&wa), engine(&wb));
    let q = Quiet::new();
    let t0 = ts("2026-01-01T00:00:00Z");
    setup(&mut a, t0);
    q.around(&mut b, |e| setup(e, t0));
    // Idle ticks up to 00:09:00 (the every-10-minutes task is due at 00:10).
    let late = t0 + SignedDuration::from_secs(540);
    for s in (0..=540).step_by(30) {
        let t = t0 + SignedDuration::from_secs(s);
        a.tick(t).unwrap();
        gated_tick(&q, &mut b, ms(t));
    }
    assert!(q.tick_is_noop(ms(late)), "answered without the engine");
    // Back by five minutes: `every` keeps its remaining interval (1 min).
    let back = late - SignedDuration::from_secs(300);
    a.tick(back).unwrap();
    gated_tick(&q, &mut b, ms(back));
    assert_eq!(a.next_wakeup(), b.next_wakeup());
    assert_eq!(
        b.get("srv", "srv", "every").unwrap().tasks[0].next_run,
        Some(back + SignedDuration::from_secs(60))
    );
}
