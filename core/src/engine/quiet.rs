//! A lock-free summary of when `tick` has nothing to do, for hosts that
//! share one engine between threads behind a lock (the C, Kotlin and Swift
//! bindings).
//!
//! After every call the lock holder publishes the engine's *quiet span*:
//! the instants `from ≤ now < until` at which [`Engine::tick`] would find
//! nothing due, nothing settled to hand out and no clock change to react to
//! (`from` is the latest `now` the engine has seen, `until` its next
//! wake-up). A tick inside the span is then answered without the lock by
//! [`Quiet::tick_is_noop`], which only reads a few atomics (a seqlock), and
//! the next wake-up by [`Quiet::next_wakeup`].
//!
//! Clock-change detection stays exact: each tick answered this way is an
//! observation of the clock, recorded (tagged with the span it was checked
//! against) and handed to the engine at the start of the next locked call
//! ([`Quiet::around`]); a later `now` before it is a clock going back, as if
//! the engine had seen every tick itself. An observation that races with a
//! locked call is dropped, which is the same as that tick not having
//! happened (the host's calls from different threads are unordered anyway).
//!
//! While a locked call runs, and after one panicked, the span admits
//! nothing: every tick takes the lock.
//!
//! Instants are Unix milliseconds, as the bindings pass them.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering, fence};

use jiff::Timestamp;

use super::Engine;

/// `until` when the span admits nothing.
const CLOSED: i64 = i64::MIN;
/// `wake` when there is no wake-up.
const NO_WAKEUP: i64 = i64::MIN;
/// Observations are `(now_ms << TAG_BITS) | (seq & TAG_MASK)`; 0 = none.
const TAG_BITS: u32 = 16;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
/// Largest `now_ms` an observation can hold (about the year 10889).
const MAX_OBSERVED: i64 = (1 << (64 - TAG_BITS)) - 1;

/// The published quiet span of one engine. See the module docs.
#[derive(Debug)]
pub struct Quiet {
    /// Even: the fields below are a consistent snapshot. Odd: being written.
    seq: AtomicU64,
    from_ms: AtomicI64,
    until_ms: AtomicI64,
    wake_ms: AtomicI64,
    /// The latest tick answered without the lock, tagged with `seq`.
    seen: AtomicU64,
}

impl Default for Quiet {
    fn default() -> Self {
        Quiet::new()
    }
}

/// `t` in Unix milliseconds, rounded up (no 128-bit division: this runs
/// after every locked call).
fn ceil_ms(t: Timestamp) -> i64 {
    let ms = t.as_millisecond();
    match Timestamp::from_millisecond(ms) {
        Ok(back) if back < t => ms + 1,
        _ => ms,
    }
}

impl Quiet {
    /// A span that admits nothing until the first [`Quiet::publish`].
    pub const fn new() -> Quiet {
        Quiet {
            seq: AtomicU64::new(1),
            from_ms: AtomicI64::new(0),
            until_ms: AtomicI64::new(CLOSED),
            wake_ms: AtomicI64::new(NO_WAKEUP),
            seen: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the engine, which the caller holds exclusively (under its
    /// lock): hands the engine the ticks answered without it, closes the
    /// span while `f` runs and publishes the new one after. If `f` panics
    /// the span stays closed until the next call.
    pub fn around<T>(&self, engine: &mut Engine, f: impl FnOnce(&mut Engine) -> T) -> T {
        let s = self.seq.load(Ordering::Relaxed);
        // Not a swap (one atomic read-modify-write less per call): an
        // observation stored between the load and the reset is lost, which
        // is the same as that tick not having happened.
        let seen = self.seen.load(Ordering::Relaxed);
        if seen != 0 {
            self.seen.store(0, Ordering::Relaxed);
        }
        if s.is_multiple_of(2) && seen != 0 && seen & TAG_MASK == s & TAG_MASK {
            let ms = (seen >> TAG_BITS) as i64;
            if let Ok(t) = Timestamp::from_millisecond(ms) {
                engine.note_quiet_tick(t);
            }
        }
        // Close the span (odd), then run.
        let odd = s | 1;
        self.seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        let r = f(engine);
        self.write(engine, odd);
        r
    }

    /// Publishes the engine's current span (the caller holds it exclusively).
    pub fn publish(&self, engine: &Engine) {
        let odd = self.seq.load(Ordering::Relaxed) | 1;
        self.seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        self.write(engine, odd);
    }

    /// Closes the span for good (the engine is gone): every later check
    /// answers "not quiet" and the caller takes its slow path.
    pub fn close(&self) {
        let odd = self.seq.load(Ordering::Relaxed) | 1;
        self.seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
    }

    fn write(&self, engine: &Engine, odd: u64) {
        let (from, until) = match engine.quiet_span() {
            // `until` never admits an instant the engine would reject.
            Some((from, until)) => (
                ceil_ms(from),
                until
                    .map_or(i64::MAX, ceil_ms)
                    .min(Timestamp::MAX.as_millisecond()),
            ),
            None => (0, CLOSED),
        };
        let wake = engine
            .next_wakeup()
            .map_or(NO_WAKEUP, |t| t.as_millisecond());
        self.from_ms.store(from, Ordering::Relaxed);
        self.until_ms.store(until, Ordering::Relaxed);
        self.wake_ms.store(wake, Ordering::Relaxed);
        self.seq.store(odd.wrapping_add(1), Ordering::Release);
    }

    /// Reads a consistent `(seq, from, until, wake)`, or None while one is
    /// being written.
    fn snapshot(&self) -> Option<(u64, i64, i64, i64)> {
        let s1 = self.seq.load(Ordering::Acquire);
        if !s1.is_multiple_of(2) {
            return None;
        }
        let from = self.from_ms.load(Ordering::Relaxed);
        let until = self.until_ms.load(Ordering::Relaxed);
        let wake = self.wake_ms.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == s1).then_some((s1, from, until, wake))
    }

    /// True if `tick(now_ms)` would do nothing, as of the last published
    /// span; the tick is then recorded as an observation of the clock. False
    /// means "take the lock and call the engine" (never wrong, only slower).
    #[inline]
    pub fn tick_is_noop(&self, now_ms: i64) -> bool {
        let Some((s, from, until, _)) = self.snapshot() else {
            return false;
        };
        if !((from..until).contains(&now_ms) && (0..=MAX_OBSERVED).contains(&now_ms)) {
            return false;
        }
        let seen = self.seen.load(Ordering::Relaxed);
        let tag = s & TAG_MASK;
        if seen & TAG_MASK == tag && seen != 0 {
            let last = (seen >> TAG_BITS) as i64;
            if now_ms < last {
                // Earlier than a tick already answered: maybe the clock
                // went back; let the engine judge.
                return false;
            }
            if now_ms == last {
                return true;
            }
        }
        self.seen
            .store(((now_ms as u64) << TAG_BITS) | tag, Ordering::Relaxed);
        true
    }

    /// The engine's next wake-up (Unix ms) as last published: `Some(None)`
    /// when nothing is scheduled, `None` while a call is in progress (ask
    /// the engine under the lock).
    #[inline]
    pub fn next_wakeup(&self) -> Option<Option<i64>> {
        let (_, _, _, wake) = self.snapshot()?;
        Some((wake != NO_WAKEUP).then_some(wake))
    }
}
