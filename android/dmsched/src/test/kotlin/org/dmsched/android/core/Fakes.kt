// Fakes for the engine, the OS alarm, the clock and the log. Both the fake
// engine and the fake alarm flag overlapping calls, which DmScheduler must
// never make.
package org.dmsched.android.core

import java.util.Collections
import java.util.TreeMap
import java.util.concurrent.atomic.AtomicInteger

const val T0 = 1767225600000L // 2026-01-01T00:00:00Z
const val SEC = 1_000L
const val MIN = 60_000L

class FakeClock(@Volatile var now: Long = T0) : Clock {
    override fun nowMs(): Long = now
}

class FakeLogger : Logger {
    val lines: MutableList<Pair<LogLevel, String>> = Collections.synchronizedList(ArrayList())
    override fun log(level: LogLevel, message: String, error: Throwable?) {
        lines += level to message
    }
    fun count(level: LogLevel): Int = synchronized(lines) { lines.count { it.first == level } }
}

/** Overlap detector: marks [overlapped] if two calls are ever inside at once. */
class Exclusive {
    private val inside = AtomicInteger()
    @Volatile var overlapped = false
    fun <T> enter(slow: Boolean, f: () -> T): T {
        if (inside.incrementAndGet() > 1) overlapped = true
        try {
            if (slow) Thread.sleep(0, 200_000)
            return f()
        } finally {
            inside.decrementAndGet()
        }
    }
}

/**
 * An engine with timers (earliest → latest); `tick` removes the due ones.
 * Deliberately not thread-safe: DmScheduler serialises calls to it.
 * Event `timer` with fields `{"at": N}` (optionally `"latest": M`) adds a timer.
 */
class FakeEngine : SchedulerEngine<String> {
    val timers = TreeMap<Long, Long>()
    val calls = ArrayList<String>()
    var failTick: Exception? = null
    var failEvent: Exception? = null
    var failWindow: Exception? = null
    var failZone: Exception? = null
    var stuck = false
    var slow = false
    var zone = "UTC"
    val exclusive = Exclusive()

    fun timer(at: Long, latest: Long = at) { timers[at] = latest }

    override fun wakeupWindow(): WakeupWindow? = exclusive.enter(slow) {
        failWindow?.let { throw it }
        if (timers.isEmpty()) null else WakeupWindow(timers.firstKey(), timers.values.min())
    }

    override fun tick(nowMs: Long): List<String> = exclusive.enter(slow) {
        calls += "tick@$nowMs"
        failTick?.let { throw it }
        val due = timers.headMap(nowMs, true).keys.toList()
        if (!stuck) due.forEach { timers.remove(it) }
        due.map { "fired@$it" }
    }

    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): List<String> = exclusive.enter(slow) {
        calls += "event:$name:$fieldsJson@$nowMs"
        failEvent?.let { throw it }
        if (name == "timer") {
            val at = Regex("\"at\":(\\d+)").find(fieldsJson ?: "")!!.groupValues[1].toLong()
            val latest = Regex("\"latest\":(\\d+)").find(fieldsJson ?: "")?.groupValues?.get(1)?.toLong() ?: at
            timer(at, latest)
        }
        listOf("ev:$name")
    }

    override fun treeChanged(uri: String, nowMs: Long): List<String> = exclusive.enter(slow) {
        calls += "tree:$uri@$nowMs"
        emptyList()
    }

    override fun setTimeZone(zone: String, nowMs: Long) = exclusive.enter(slow) {
        calls += "zone:$zone@$nowMs"
        failZone?.let { throw it }
        this.zone = zone
    }
}

/** The OS alarm: one armed wake-up at most ([current]), every call in [log]. */
class FakeAlarm : WakeupAlarm {
    @Volatile var exactAllowed = true
    @Volatile var exactThrows: RuntimeException? = null
    @Volatile var inexactThrows: RuntimeException? = null
    @Volatile var permissionThrows: RuntimeException? = null
    val log: MutableList<String> = Collections.synchronizedList(ArrayList())
    @Volatile var current: Arming = Arming.None
    val exclusive = Exclusive()

    override fun canArmExact(): Boolean = exclusive.enter(false) {
        permissionThrows?.let { throw it }
        exactAllowed
    }

    override fun armExact(atMs: Long) = exclusive.enter(false) {
        log += "exact $atMs"
        exactThrows?.let { throw it }
        current = Arming.Exact(atMs)
    }

    override fun armInexact(earliestMs: Long, latestMs: Long) = exclusive.enter(false) {
        log += "inexact $earliestMs..$latestMs"
        inexactThrows?.let { throw it }
        current = Arming.Inexact(earliestMs, latestMs)
    }

    override fun cancel() = exclusive.enter(false) {
        log += "cancel"
        current = Arming.None
    }

    fun last(): String? = synchronized(log) { log.lastOrNull() }
}

class Rig(policy: AlarmPolicy = AlarmPolicy(), zoneProvider: () -> String? = { null }) {
    val clock = FakeClock()
    val engine = FakeEngine()
    val alarm = FakeAlarm()
    val logger = FakeLogger()
    val scheduler = DmScheduler(engine, alarm, clock, policy, logger, zoneProvider)
}
