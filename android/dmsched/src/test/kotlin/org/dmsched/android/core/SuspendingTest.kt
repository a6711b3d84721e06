// Issue 15, idiomatic Kotlin: the scheduler's calls as suspend functions
// (run on the given dispatcher, never on the caller's thread; results and
// exceptions come back), its firings as a Flow (every finished occurrence,
// from ticks and events alike, none lost to a slow collector), and the
// engine's reports as a Flow (ReportFeed).
package org.dmsched.android.core

import java.util.concurrent.Executors
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield

fun suspendingTests() {
    val r = Rig()
    val now = r.clock.nowMs()
    r.engine.timer(now)
    val pool = Executors.newSingleThreadExecutor { Thread(it, "dmsched-io") }
    try {
        val s = SuspendingScheduler(r.scheduler, pool)
        val seen = java.util.concurrent.CopyOnWriteArrayList<List<String>>()
        val handle = r.scheduler.addFiringListener { seen.add(it) }
        var thread = ""
        val fired = runBlocking {
            s.call { thread = Thread.currentThread().name }
            s.tick()
        }
        eq(thread, "dmsched-io", "calls run on the dispatcher, not the caller's thread")
        eq(fired, listOf("fired@$now"), "tick's firings come back")
        eq(seen.toList(), listOf(listOf("fired@$now")), "the listener was told")
        handle.close()
        r.engine.timer(now)
        runBlocking { s.tick() }
        eq(seen.size, 1, "a closed listener is not told")

        val failed = runBlocking { runCatching { s.edit<Unit> { throw IllegalStateException("rejected schedule") } } }
        eq(failed.exceptionOrNull()?.message, "rejected schedule", "an exception comes back to the caller")
        val completed = runBlocking { s.complete { "completed run 7" } }
        eq(completed, "completed run 7", "complete runs its block under the scheduler's lock and returns its result")
        runBlocking { s.postEvent("boot") }
        ok(r.engine.calls.any { it.startsWith("event:boot") }, "the event reached the engine: ${r.engine.calls}")

        // A listener that throws is logged; the call still returns its firings.
        val bad = r.scheduler.addFiringListener { throw IllegalStateException("listener exploded") }
        r.engine.timer(now)
        eq(r.scheduler.tick(), listOf("fired@$now"), "a failing listener does not fail the call")
        bad.close()
    } finally {
        pool.shutdown()
    }
    firingFlowTests()
    reportFeedTests()
}

/** Collects [n] items of [flow] while [act] runs, once the collector has subscribed. */
private fun <T> collectWhile(n: Int, subscribed: () -> Boolean, flow: kotlinx.coroutines.flow.Flow<T>, act: () -> Unit): List<T> =
    runBlocking {
        withTimeout(10_000) {
            val got = async(start = CoroutineStart.UNDISPATCHED) { flow.take(n).toList() }
            while (!subscribed()) yield()
            act()
            got.await()
        }
    }

private fun firingFlowTests() {
    val r = Rig()
    val now = r.clock.nowMs()
    val s = SuspendingScheduler(r.scheduler)
    val got = collectWhile(3, { r.scheduler.firingListeners == 1 }, s.firings()) {
        r.engine.timer(now)
        r.scheduler.tick()
        r.scheduler.postEvent("boot")
        r.engine.timer(now - 1)
        r.engine.timer(now)
        r.scheduler.tick()
    }
    eq(got, listOf("fired@$now", "ev:boot", "fired@${now - 1}"), "the flow delivers each finished occurrence, from ticks and events, in order")
    eq(r.scheduler.firingListeners, 0, "a collector that stops unsubscribes")

    // A slow collector: 200 occurrences while it waits, none lost, the engine never blocked.
    val r2 = Rig()
    val many = collectWhile(200, { r2.scheduler.firingListeners == 1 }, r2.scheduler.firings()) {
        for (i in 0 until 200) {
            r2.clock.now = T0 + i
            r2.engine.timer(T0 + i)
            r2.scheduler.tick()
        }
    }
    eq(many.size, 200, "a slow collector loses nothing")
    eq(many.first(), "fired@$T0", "in order (first)")
    eq(many.last(), "fired@${T0 + 199}", "in order (last)")
}

private fun reportFeedTests() {
    val feed = ReportFeed<String>()
    feed.publish("before anyone collects")
    val got = collectWhile(2, { feed.collectors == 1 }, feed.reports()) {
        feed.publish("r1")
        feed.addListener { throw IllegalStateException("a failing listener") }
        feed.publish("r2")
    }
    eq(got, listOf("r1", "r2"), "collectors see the reports published while they collect; a failing listener does not stop the others")
    eq(feed.collectors, 1, "the finished collector unsubscribed (the failing listener stays)")
}
