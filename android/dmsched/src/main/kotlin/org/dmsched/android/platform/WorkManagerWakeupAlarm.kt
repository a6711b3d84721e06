package org.dmsched.android.platform

import android.content.Context
import androidx.work.ExistingWorkPolicy
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.Worker
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import org.dmsched.android.core.Clock
import org.dmsched.android.core.WakeupAlarm

/**
 * The wake-up as one unique WorkManager job (no exact timing: WorkManager
 * starts it at or after `earliest`, when the OS lets it). Use it alone for
 * apps without exact-alarm permission, or in a `HybridWakeupAlarm` with
 * [AlarmManagerWakeupAlarm] for the exact wake-ups.
 */
class WorkManagerWakeupAlarm(context: Context, private val clock: Clock = Clock.SYSTEM) : WakeupAlarm {
    private val workManager = WorkManager.getInstance(context.applicationContext)

    override fun canArmExact(): Boolean = false

    /** Not exact: WorkManager has no exact timing; runs at or after [atMs]. */
    override fun armExact(atMs: Long) = armInexact(atMs, atMs)

    override fun armInexact(earliestMs: Long, latestMs: Long) {
        val delay = (earliestMs - clock.nowMs()).coerceAtLeast(0)
        val request = OneTimeWorkRequestBuilder<DmschedWorker>()
            .setInitialDelay(delay, TimeUnit.MILLISECONDS)
            .build()
        // REPLACE: one job at most. When the job itself ticks, the re-arm
        // replaces it after the tick has finished; only its result is dropped.
        workManager.enqueueUniqueWork(UNIQUE_WORK, ExistingWorkPolicy.REPLACE, request)
    }

    override fun cancel() {
        workManager.cancelUniqueWork(UNIQUE_WORK)
    }

    companion object {
        /** The unique work name (one job at most). */
        const val UNIQUE_WORK = "org.dmsched.android.wakeup"
    }
}

/** The job [WorkManagerWakeupAlarm] arms: one tick of the installed scheduler. */
class DmschedWorker(context: Context, params: WorkerParameters) : Worker(context, params) {
    override fun doWork(): Result {
        // Not installed: the app's Application.onCreate did not call DmschedAndroid.install.
        val scheduler = DmschedAndroid.scheduler() ?: return Result.failure()
        scheduler.tick()
        return Result.success()
    }
}
