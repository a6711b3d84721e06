package org.dmsched.android.platform

import android.content.BroadcastReceiver
import android.content.Context
import java.util.TimeZone
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import org.dmsched.android.core.AlarmPolicy
import org.dmsched.android.core.DmScheduler
import org.dmsched.android.core.LogLevel
import org.dmsched.android.core.Logger
import org.dmsched.android.core.PlatformEvent
import org.dmsched.android.core.SchedulerEngine
import org.dmsched.android.core.WakeupAlarm

/**
 * The process-wide installation: call [install] from `Application.onCreate`
 * (it runs before any receiver or worker in a cold-started process, e.g. at
 * boot). Receivers, the worker and the device monitors then find the
 * scheduler here and run their work on one background thread, in arrival
 * order.
 */
object DmschedAndroid {
    private val lock = Any()

    @Volatile
    private var scheduler: DmScheduler<*>? = null
    private var monitors: DeviceMonitors? = null
    private var alarm: WakeupAlarm? = null
    private var logger: Logger = LogcatLogger()

    /** The thread every receiver, worker and monitor call runs on. */
    val executor: ExecutorService = Executors.newSingleThreadExecutor { r -> Thread(r, "dmsched").apply { isDaemon = true } }

    /**
     * Installs [engine] with [alarm] (default: AlarmManager), starts the
     * network/charger/package monitors when [monitorDevice], and arms the
     * first wake-up. Throws if already installed.
     */
    fun <F> install(
        context: Context,
        engine: SchedulerEngine<F>,
        alarm: WakeupAlarm = AlarmManagerWakeupAlarm(context),
        policy: AlarmPolicy = AlarmPolicy(),
        logger: Logger = LogcatLogger(),
        monitorDevice: Boolean = true,
    ): DmScheduler<F> = synchronized(lock) {
        check(scheduler == null) { "DmschedAndroid is already installed" }
        val s = DmScheduler(engine, alarm, policy = policy, logger = logger, timeZoneProvider = { TimeZone.getDefault().id })
        this.logger = logger
        this.alarm = alarm
        scheduler = s
        if (monitorDevice) {
            monitors = DeviceMonitors(context.applicationContext) { e -> post(e) }.also { it.start() }
        }
        executor.execute { s.rearm() }
        s
    }

    /** Stops the monitors and cancels the wake-up; the engine stays open (the caller owns it). */
    fun uninstall() = synchronized(lock) {
        monitors?.stop()
        monitors = null
        scheduler = null
        alarm?.let { a -> executor.execute { a.cancel() } }
        alarm = null
    }

    /** The installed scheduler, or null. */
    fun scheduler(): DmScheduler<*>? = scheduler

    /** Feeds [event] to the installed scheduler on [executor]. */
    fun post(event: PlatformEvent) {
        val s = scheduler ?: return notInstalled(event.toString())
        executor.execute { s.onPlatformEvent(event) }
    }

    /** Runs [work] on [executor] for a receiver, keeping its broadcast alive until done (goAsync). */
    internal fun dispatch(receiver: BroadcastReceiver, work: (DmScheduler<*>) -> Unit) {
        val s = scheduler ?: return notInstalled(receiver.javaClass.simpleName)
        val pending = receiver.goAsync()
        executor.execute {
            try {
                work(s)
            } catch (e: RuntimeException) {
                logger.log(LogLevel.ERROR, "receiver work failed: ${e.message}", e)
            } finally {
                pending.finish()
            }
        }
    }

    private fun notInstalled(what: String) {
        logger.log(LogLevel.WARN, "$what ignored: DmschedAndroid.install was not called (Application.onCreate)", null)
    }
}
