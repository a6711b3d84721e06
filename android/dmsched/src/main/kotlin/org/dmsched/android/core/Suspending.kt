// Pure Kotlin (kotlinx.coroutines, no android.* imports): the scheduler's
// calls as suspend functions, and its firings and the engine's reports as
// Flows.
package org.dmsched.android.core

import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executor
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext

/**
 * [DmScheduler] for coroutines: each call runs on [dispatcher] (by default
 * `Dispatchers.IO`: the engine does SQLite I/O and runs the host's
 * callbacks), never on the caller's thread, and returns the result or
 * throws what the call threw. Cancelling the caller does not interrupt a
 * call that has started (the engine journals before it acts); the caller
 * just stops waiting for its result.
 */
class SuspendingScheduler<F>(
    val scheduler: DmScheduler<F>,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) {
    /** The calls run on [executor] (e.g. one thread of the app's). */
    constructor(scheduler: DmScheduler<F>, executor: Executor) : this(scheduler, executor.asCoroutineDispatcher())

    /** [DmScheduler.tick]. */
    suspend fun tick(): List<F> = call { scheduler.tick() }

    /** [DmScheduler.postEvent]. */
    suspend fun postEvent(name: String, fieldsJson: String? = null): List<F> = call { scheduler.postEvent(name, fieldsJson) }

    /** [DmScheduler.treeChanged]. */
    suspend fun treeChanged(uri: String): List<F> = call { scheduler.treeChanged(uri) }

    /** [DmScheduler.onPlatformEvent]. */
    suspend fun onPlatformEvent(event: PlatformEvent): List<F> = call { scheduler.onPlatformEvent(event) }

    /**
     * [DmScheduler.edit]: a submit, a modify, or a long action's completion,
     * then the alarm is re-armed.
     */
    suspend fun <T> edit(block: () -> T): T = call { scheduler.edit(block) }

    /**
     * Completes a long action when the work it waited for is done:
     * `complete { engine.complete(runId, resultsJson, clock.nowMs()) }`
     * (UniFFI `Engine.complete`, JNI `NativeEngine.complete`, or the
     * agent's); the alarm is re-armed after it.
     */
    suspend fun <T> complete(block: () -> T): T = edit(block)

    /** Runs [block] on the dispatcher. */
    suspend fun <T> call(block: () -> T): T = withContext(dispatcher) { block() }

    /** [DmScheduler.firings]. */
    fun firings(): Flow<F> = scheduler.firings()
}

/**
 * Every finished occurrence, as it finishes, from whichever call ran it (a
 * tick, an event, a zone change); subscribed while collected. A collector
 * that falls behind loses nothing: the flow buffers without bound
 * (occurrences are few and small), so a slow collector never blocks the
 * engine.
 */
fun <F> DmScheduler<F>.firings(): Flow<F> = listenerFlow { emit -> addFiringListener { batch -> batch.forEach(emit) } }

/**
 * The engine's reports as they become ready, for a host that sends them
 * itself (hand-off mode). The report callback the engine calls (UniFFI
 * `ReportSink.reportReady`, JNI `NativeHost.reportReady`) hands each report
 * to [publish]; collectors of [reports] see every report published while
 * they collect. [publish] never blocks (it runs inside the engine's call).
 * A report nobody collects is not lost: it stays in the engine's outbox
 * (`pendingReports`) until acknowledged.
 */
class ReportFeed<R> {
    private val listeners = CopyOnWriteArrayList<(R) -> Unit>()

    /** Hands [report] to every current collector and listener; one that throws does not stop the others. */
    fun publish(report: R) {
        for (l in listeners) runCatching { l(report) }
    }

    /** Tells [listener] about every report published until the handle is closed. */
    fun addListener(listener: (R) -> Unit): AutoCloseable {
        listeners.add(listener)
        return AutoCloseable { listeners.remove(listener) }
    }

    /** How many collectors and listeners are subscribed now. */
    val collectors: Int get() = listeners.size

    /** Every report published while collecting (buffered without bound, like [firings]). */
    fun reports(): Flow<R> = listenerFlow(::addListener)
}

/** A Flow over a listener registration: registered when collection starts, closed when it stops. */
private fun <T> listenerFlow(register: ((T) -> Unit) -> AutoCloseable): Flow<T> =
    callbackFlow {
        val handle = register { trySend(it) }
        awaitClose { handle.close() }
    }.buffer(Channel.UNLIMITED)
