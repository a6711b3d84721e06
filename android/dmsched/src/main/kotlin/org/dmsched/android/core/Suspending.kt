// Pure Kotlin (kotlin.coroutines from the standard library only): the
// scheduler's calls as suspend functions for coroutine callers.
package org.dmsched.android.core

import java.util.concurrent.Executor
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlin.coroutines.suspendCoroutine

/**
 * [DmScheduler] for coroutines: each call runs on [executor] (an app's I/O
 * dispatcher as an `Executor`, or a single thread), never on the caller's
 * thread, and resumes the caller with the result or the exception. A
 * long action's completion (`Engine.complete` / `NativeEngine.complete`)
 * goes through [call] the same way.
 */
class SuspendingScheduler<F>(val scheduler: DmScheduler<F>, private val executor: Executor) {
    /** [DmScheduler.tick] off the caller's thread. */
    suspend fun tick(): List<F> = call { scheduler.tick() }

    /** [DmScheduler.postEvent] off the caller's thread. */
    suspend fun postEvent(name: String, fieldsJson: String? = null): List<F> = call { scheduler.postEvent(name, fieldsJson) }

    /** [DmScheduler.treeChanged] off the caller's thread. */
    suspend fun treeChanged(uri: String): List<F> = call { scheduler.treeChanged(uri) }

    /** [DmScheduler.onPlatformEvent] off the caller's thread. */
    suspend fun onPlatformEvent(event: PlatformEvent): List<F> = call { scheduler.onPlatformEvent(event) }

    /** [DmScheduler.edit] off the caller's thread (e.g. a submit or a long action's `complete`). */
    suspend fun <T> edit(block: () -> T): T = call { scheduler.edit(block) }

    /** Runs [block] on the executor and resumes with its result or exception. */
    suspend fun <T> call(block: () -> T): T = suspendCoroutine { k ->
        executor.execute {
            val r = runCatching(block)
            r.fold({ k.resume(it) }, { k.resumeWithException(it) })
        }
    }
}
