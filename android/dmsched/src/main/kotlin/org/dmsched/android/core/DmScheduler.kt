// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/**
 * The facade an app or service talks to: it feeds the engine the clock,
 * device events and alarms, and after every call re-arms exactly one
 * [WakeupAlarm] from the engine's next wake-up window (or cancels it when
 * nothing is due).
 *
 * Failures: an exception from the engine during [tick], an event or the
 * wake-up query is logged, never thrown, and a retry is armed (backing off
 * per [AlarmPolicy.retryWindow]) unless the engine's own wake-up is sooner.
 * [edit] is the exception: it rethrows what its block throws (a rejected
 * schedule is the caller's business) after re-arming.
 *
 * Threads: every method may be called from any thread; calls are
 * serialised, so the alarm armed last always matches the engine's state
 * after the last call. Engine callbacks (tree reads, action execution) run
 * inside that lock and must not call back into this scheduler or the engine.
 *
 * @param timeZoneProvider the device zone, for a zone-change broadcast that
 *   does not name it (Android: `TimeZone.getDefault().id`).
 */
class DmScheduler<F>(
    private val engine: SchedulerEngine<F>,
    private val alarm: WakeupAlarm,
    private val clock: Clock = Clock.SYSTEM,
    private val policy: AlarmPolicy = AlarmPolicy(),
    private val logger: Logger = Logger.NONE,
    private val timeZoneProvider: () -> String? = { null },
) {
    private val lock = Any()
    private var failures = 0
    private var lastNetwork: PlatformEvent.Network? = null
    private var lastPlugged: Boolean? = null

    /** What was armed last (for diagnostics and tests). */
    @Volatile
    var armed: Arming = Arming.None
        private set

    /** Consecutive failed calls (0 after a successful one). */
    val consecutiveFailures: Int get() = synchronized(lock) { failures }

    /** The alarm went off: runs what is due. */
    fun tick(): List<F> = serialised(justTicked = true) { step("tick") { engine.tick(now) } }

    /** A device event for the engine (`fieldsJson`: a JSON object, or null). */
    fun postEvent(name: String, fieldsJson: String? = null): List<F> =
        serialised(justTicked = false) { step("event $name") { engine.postEvent(name, fieldsJson, now) } }

    /** DM-tree node [uri] changed. */
    fun treeChanged(uri: String): List<F> =
        serialised(justTicked = false) { step("tree change") { engine.treeChanged(uri, now) } }

    /** The device zone changed to [zone] (then runs what became due). */
    fun setTimeZone(zone: String): List<F> = onPlatformEvent(PlatformEvent.TimeZoneChanged(zone))

    /**
     * Runs [block] (e.g. `engine.submit(...)` on the underlying engine) under
     * the scheduler's lock, then re-arms; rethrows what [block] throws.
     */
    fun <T> edit(block: () -> T): T = synchronized(lock) {
        try {
            block()
        } finally {
            rearmLocked(clock.nowMs(), justTicked = false, callFailed = false)
        }
    }

    /** Re-arms from the engine's state without calling it otherwise (e.g. at start-up). */
    fun rearm() {
        synchronized(lock) { rearmLocked(clock.nowMs(), justTicked = false, callFailed = false) }
    }

    /**
     * Feeds a device event. Repeated network states and charger states are
     * dropped (callbacks repeat them), so an event-triggered task runs once
     * per real change.
     */
    fun onPlatformEvent(event: PlatformEvent): List<F> {
        logger.log(LogLevel.DEBUG, "platform event $event", null)
        return when (event) {
            // Catch up first (misfire policies see the downtime), then the boot event.
            PlatformEvent.Boot -> serialised(justTicked = true) {
                step("tick") { engine.tick(now) }
                step("event boot") { engine.postEvent("boot", null, now) }
            }
            PlatformEvent.PackageReplaced -> tick()
            // Catch up on the new clock first, then tasks watching the change run.
            PlatformEvent.TimeSet -> serialised(justTicked = true) {
                step("tick") { engine.tick(now) }
                step("event time_set") { post(event) }
            }
            is PlatformEvent.TimeZoneChanged -> serialised(justTicked = true) {
                val zone = event.zoneId ?: timeZoneProvider()
                if (zone == null) {
                    logger.log(LogLevel.WARN, "time zone changed but no zone id is known", null)
                } else {
                    // A zone the engine does not know will not become known by retrying.
                    step("time zone $zone", retry = false) { engine.setTimeZone(zone, now); emptyList() }
                }
                step("tick") { engine.tick(now) }
                step("event timezone_changed") { post(PlatformEvent.TimeZoneChanged(zone)) }
            }
            is PlatformEvent.Network -> serialised(justTicked = false) {
                if (event == lastNetwork) return@serialised
                if (step("event network") { post(event) }) lastNetwork = event
            }
            is PlatformEvent.Charger -> serialised(justTicked = false) {
                if (event.plugged == lastPlugged) return@serialised
                if (step("event charger") { post(event) }) lastPlugged = event.plugged
            }
            is PlatformEvent.AppInstalled, is PlatformEvent.SimChanged, is PlatformEvent.Custom ->
                serialised(justTicked = false) { step("event") { post(event) } }
        }
    }

    private fun Call.post(event: PlatformEvent): List<F> {
        val e = PlatformEvents.engineEvent(event) ?: return emptyList()
        return engine.postEvent(e.name, e.fieldsJson, now)
    }

    /** One serialised call: its time, its results, whether a step failed. */
    private inner class Call(val now: Long) {
        val out = ArrayList<F>()
        var failed = false
        var calledEngine = false

        /** Runs [f]; true when it succeeded. */
        fun step(what: String, retry: Boolean = true, f: () -> List<F>): Boolean {
            calledEngine = true
            return try {
                out += f()
                true
            } catch (e: Exception) {
                if (retry) failed = true
                logger.log(if (retry) LogLevel.ERROR else LogLevel.WARN, "$what failed: ${e.message}", e)
                false
            }
        }
    }

    private fun serialised(justTicked: Boolean, body: Call.() -> Unit): List<F> {
        val out = synchronized(lock) {
            val call = Call(clock.nowMs())
            call.body()
            // Nothing asked of the engine (a repeated state): nothing changed.
            if (call.calledEngine) rearmLocked(call.now, justTicked, call.failed)
            call.out
        }
        if (out.isNotEmpty()) {
            // Outside the lock: a listener may call back into the scheduler.
            for (l in listeners) {
                try {
                    l(out)
                } catch (e: Exception) {
                    logger.log(LogLevel.WARN, "a firing listener failed: ${e.message}", e)
                }
            }
        }
        return out
    }

    private val listeners = java.util.concurrent.CopyOnWriteArrayList<(List<F>) -> Unit>()

    /** How many firing listeners (and `firings()` collectors) are subscribed now. */
    val firingListeners: Int get() = listeners.size

    /**
     * Tells [listener] about every occurrence that finished, from whichever
     * call finished it (tick, event, tree change, zone change), on that
     * call's thread, after the scheduler's lock is released. Close the
     * returned handle to stop. As a Flow: [firings] (Suspending.kt).
     */
    fun addFiringListener(listener: (List<F>) -> Unit): AutoCloseable {
        listeners.add(listener)
        return AutoCloseable { listeners.remove(listener) }
    }

    private fun rearmLocked(now: Long, justTicked: Boolean, callFailed: Boolean) {
        var failed = callFailed
        val window = try {
            engine.wakeupWindow()
        } catch (e: Exception) {
            failed = true
            logger.log(LogLevel.ERROR, "wake-up query failed: ${e.message}", e)
            null
        }
        val canExact = try {
            alarm.canArmExact()
        } catch (e: Exception) {
            logger.log(LogLevel.WARN, "exact-alarm permission check failed: ${e.message}", e)
            false
        }
        var target = policy.decide(now, window, canExact, justTicked)
        if (failed) {
            failures++
            val retry = policy.decide(now, policy.retryWindow(now, failures), canExact, justTicked = false)
            if (target == Arming.None || deadline(retry) < deadline(target)) target = retry
        } else {
            failures = 0
        }
        arm(target)
    }

    private fun deadline(a: Arming): Long = when (a) {
        is Arming.Exact -> a.atMs
        is Arming.Inexact -> a.latestMs
        Arming.None -> Long.MAX_VALUE
    }

    private fun arm(target: Arming) {
        try {
            armed = when (target) {
                is Arming.Exact -> try {
                    alarm.armExact(target.atMs)
                    target
                } catch (e: Exception) {
                    // Android 12+: the exact-alarm permission can be revoked at any time.
                    logger.log(LogLevel.WARN, "exact alarm refused, arming an inexact one: ${e.message}", e)
                    val fallback = Arming.Inexact(target.atMs, target.atMs + policy.exactSlackMs)
                    alarm.armInexact(fallback.earliestMs, fallback.latestMs)
                    fallback
                }
                is Arming.Inexact -> { alarm.armInexact(target.earliestMs, target.latestMs); target }
                Arming.None -> { alarm.cancel(); target }
            }
            logger.log(LogLevel.DEBUG, "armed $armed", null)
        } catch (e: Exception) {
            logger.log(LogLevel.ERROR, "could not arm the wake-up $target: ${e.message}", e)
        }
    }
}
