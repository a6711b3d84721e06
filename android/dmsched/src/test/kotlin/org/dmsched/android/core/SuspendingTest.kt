// Issue 15, idiomatic Kotlin: the scheduler's calls as suspend functions
// (run on the given executor, never on the caller's thread; results and
// exceptions come back), and a firing listener (the base of a Flow) told
// about every finished occurrence outside the lock. Standard library
// coroutines only: the host JVM has no kotlinx.coroutines.
package org.dmsched.android.core

import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.coroutines.Continuation
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.coroutines.startCoroutine

/** Runs [block] as a coroutine and waits for its result (a tiny runBlocking). */
fun <T> runSuspending(block: suspend () -> T): Result<T> {
    val done = CountDownLatch(1)
    var result: Result<T>? = null
    block.startCoroutine(Continuation(EmptyCoroutineContext) { r ->
        result = r
        done.countDown()
    })
    check(done.await(10, TimeUnit.SECONDS)) { "coroutine did not finish" }
    return result!!
}

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
        val fired = runSuspending {
            s.call { thread = Thread.currentThread().name }
            s.tick()
        }
        eq(thread, "dmsched-io", "calls run on the executor")
        eq(fired.getOrNull(), listOf("fired@$now"), "tick's firings come back")
        eq(seen.toList(), listOf(listOf("fired@$now")), "the listener was told")
        handle.close()
        r.engine.timer(now)
        runSuspending { s.tick() }
        eq(seen.size, 1, "a closed listener is not told")

        val failed = runSuspending { s.edit<Unit> { throw IllegalStateException("rejected schedule") } }
        eq(failed.exceptionOrNull()?.message, "rejected schedule", "an exception comes back to the caller")
        val posted = runSuspending { s.postEvent("boot") }
        ok(posted.isSuccess, "postEvent suspends and returns")
        ok(r.engine.calls.any { it.startsWith("event:boot") }, "the event reached the engine: ${r.engine.calls}")

        // A listener that throws is logged; the call still returns its firings.
        r.scheduler.addFiringListener { throw IllegalStateException("listener exploded") }
        r.engine.timer(now)
        eq(r.scheduler.tick(), listOf("fired@$now"), "a failing listener does not fail the call")
    } finally {
        pool.shutdown()
    }
}
