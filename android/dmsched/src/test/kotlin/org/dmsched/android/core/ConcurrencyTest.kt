// Several threads posting events, ticking and re-arming at once: the engine
// and the alarm never see overlapping calls, and the alarm armed at the end
// is the engine's real next wake-up.
package org.dmsched.android.core

import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

fun concurrencyTests() {
    val r = Rig()
    r.engine.slow = true
    val threads = 8
    val perThread = 40
    val start = CountDownLatch(1)
    val pool = Executors.newFixedThreadPool(threads)
    val posted = java.util.concurrent.ConcurrentLinkedQueue<Long>()
    val errors = java.util.concurrent.atomic.AtomicInteger()
    repeat(threads) { t ->
        pool.execute {
            try {
                start.await()
                repeat(perThread) { i ->
                    // Distinct times, scattered so the minimum arrives at an arbitrary point.
                    val at = T0 + MIN + ((t * 7919L + i * 104729L) % 100_000) * SEC + t
                    posted += at
                    r.scheduler.postEvent("timer", Json.obj("at" to at))
                    when (i % 10) {
                        3 -> r.scheduler.tick() // nothing due yet at T0
                        7 -> r.scheduler.rearm()
                        9 -> r.scheduler.onPlatformEvent(PlatformEvent.Charger(i % 20 == 9, null))
                    }
                }
            } catch (e: Throwable) {
                errors.incrementAndGet()
                e.printStackTrace()
            }
        }
    }
    start.countDown()
    pool.shutdown()
    ok(pool.awaitTermination(60, TimeUnit.SECONDS), "threads finished")
    eq(errors.get(), 0, "no thread saw an exception")
    ok(!r.engine.exclusive.overlapped, "engine calls never overlapped")
    ok(!r.alarm.exclusive.overlapped, "alarm calls never overlapped")
    eq(r.engine.timers.size, threads * perThread, "every event reached the engine")
    eq(r.alarm.current, Arming.Exact(posted.min()), "the alarm armed last is the earliest posted time")
    eq(r.scheduler.armed, r.alarm.current, "scheduler and alarm agree")

    // Then time passes in steps; each tick leaves the alarm at the next remaining time.
    val sorted = posted.sorted()
    r.engine.slow = false
    var okAll = true
    for (k in listOf(0, 1, 50, 199, 318)) {
        r.clock.now = sorted[k]
        r.scheduler.tick()
        if (r.alarm.current != Arming.Exact(sorted[k + 1])) okAll = false
    }
    ok(okAll, "after each tick the alarm is at the next remaining timer")
    r.clock.now = sorted.last()
    r.scheduler.tick()
    eq(r.alarm.current, Arming.None, "all timers ran: alarm cancelled")
}
