// DmScheduler: one alarm re-armed from the engine after every call, and
// what happens when the engine or the alarm fails.
package org.dmsched.android.core

fun schedulerTests() {
    armsFromNextWakeupAtStartAndAfterEachCall()
    cancelsWhenNothingIsDue()
    choosesExactOrInexact()
    editReArmsAndRethrows()
    pastDueIsNeverASpin()
    passesTreeChanges()
}

fun failureTests() {
    engineFailureArmsBackingOffRetry()
    engineWakeupSoonerThanRetryIsKept()
    failingWakeupQueryArmsRetry()
    refusedExactAlarmFallsBackToInexact()
    brokenAlarmIsLoggedNotThrown()
    failedEventIsNotRememberedAsDelivered()
}

private fun armsFromNextWakeupAtStartAndAfterEachCall() {
    val r = Rig()
    r.engine.timer(T0 + 5 * MIN)
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Exact(T0 + 5 * MIN), "start-up arms the engine's next wake-up")
    eq(r.scheduler.armed, Arming.Exact(T0 + 5 * MIN), "and reports it")

    // An event that adds an earlier timer moves the alarm forward.
    val fired = r.scheduler.postEvent("timer", Json.obj("at" to T0 + 2 * MIN))
    eq(fired, listOf("ev:timer"), "postEvent returns the engine's firings")
    eq(r.engine.calls.last(), "event:timer:{\"at\":${T0 + 2 * MIN}}@$T0", "postEvent passes name, fields and now")
    eq(r.alarm.current, Arming.Exact(T0 + 2 * MIN), "re-armed after the event")

    r.clock.now = T0 + 2 * MIN
    eq(r.scheduler.tick(), listOf("fired@${T0 + 2 * MIN}"), "tick runs what is due")
    eq(r.engine.calls.last(), "tick@${T0 + 2 * MIN}", "tick passes now")
    eq(r.alarm.current, Arming.Exact(T0 + 5 * MIN), "re-armed to the next timer after the tick")

    val before = r.alarm.log.size
    r.scheduler.postEvent("other")
    eq(r.engine.calls.last(), "event:other:null@${T0 + 2 * MIN}", "fields default to null")
    eq(r.alarm.log.size, before + 1, "every call arms exactly once")
    eq(r.alarm.last(), "exact ${T0 + 5 * MIN}", "even when the time did not change")
}

private fun cancelsWhenNothingIsDue() {
    val r = Rig()
    r.engine.timer(T0 + MIN)
    r.scheduler.rearm()
    r.clock.now = T0 + MIN
    r.scheduler.tick()
    eq(r.alarm.last(), "cancel", "last timer ran: the alarm is cancelled")
    eq(r.alarm.current, Arming.None, "nothing armed")
    eq(r.scheduler.armed, Arming.None, "scheduler reports nothing armed")
}

private fun choosesExactOrInexact() {
    val r = Rig()
    r.engine.timer(T0 + 10 * MIN, T0 + 40 * MIN)
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Inexact(T0 + 10 * MIN, T0 + 40 * MIN), "a task tolerating delay gets an inexact window")
    r.engine.timer(T0 + 20 * MIN) // no slack, and it narrows the window
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Inexact(T0 + 10 * MIN, T0 + 20 * MIN), "window narrowed by a punctual later task")
    r.engine.timers.clear()
    r.engine.timer(T0 + 20 * MIN)
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Exact(T0 + 20 * MIN), "a punctual task gets an exact alarm")
    r.alarm.exactAllowed = false
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Inexact(T0 + 20 * MIN, T0 + 20 * MIN), "without the exact-alarm permission: inexact")
    r.alarm.exactAllowed = true
    r.alarm.permissionThrows = IllegalStateException("binder died")
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Inexact(T0 + 20 * MIN, T0 + 20 * MIN), "a failing permission check counts as not permitted")
    ok(r.logger.count(LogLevel.WARN) == 1, "and is logged as a warning")

    val always = Rig(AlarmPolicy(mode = ExactMode.ALWAYS))
    always.engine.timer(T0 + 10 * MIN, T0 + 40 * MIN)
    always.scheduler.rearm()
    eq(always.alarm.current, Arming.Exact(T0 + 10 * MIN), "ExactMode.ALWAYS: exact even for a wide window")
}

private fun editReArmsAndRethrows() {
    val r = Rig()
    val got = r.scheduler.edit { r.engine.timer(T0 + 3 * MIN); "summary" }
    eq(got, "summary", "edit returns the block's value")
    eq(r.alarm.current, Arming.Exact(T0 + 3 * MIN), "edit re-arms after the block")
    throws<IllegalArgumentException>("edit rethrows the block's exception") {
        r.scheduler.edit { r.engine.timer(T0 + MIN); throw IllegalArgumentException("invalid schedule") }
    }
    eq(r.alarm.current, Arming.Exact(T0 + MIN), "and still re-arms from what the engine holds")
    eq(r.scheduler.consecutiveFailures, 0, "a rejected edit is not an engine failure")
}

private fun pastDueIsNeverASpin() {
    val r = Rig()
    r.engine.stuck = true
    r.engine.timer(T0 - MIN)
    r.scheduler.postEvent("x")
    eq(r.alarm.current, Arming.Exact(T0), "due work found after an event: wake now")
    r.scheduler.tick()
    eq(r.alarm.current, Arming.Exact(T0 + AlarmPolicy().stuckDelayMs), "still due after a tick: wait a minute, do not spin")
}

private fun passesTreeChanges() {
    val r = Rig()
    r.engine.timer(T0 + MIN)
    r.scheduler.treeChanged("./DevDetail/Bat")
    eq(r.engine.calls, listOf("tree:./DevDetail/Bat@$T0"), "treeChanged passes uri and now")
    eq(r.alarm.current, Arming.Exact(T0 + MIN), "and re-arms")
}

private fun engineFailureArmsBackingOffRetry() {
    val r = Rig()
    r.engine.failTick = IllegalStateException("storage: disk I/O error")
    eq(r.scheduler.tick(), emptyList<String>(), "a failing tick returns no firings and does not throw")
    eq(r.alarm.current, Arming.Exact(T0 + 30 * SEC), "first retry in 30 s")
    ok(r.logger.lines.any { it.first == LogLevel.ERROR && it.second.contains("disk I/O error") }, "failure logged as an error")
    r.clock.now += 30 * SEC
    r.scheduler.tick()
    eq(r.alarm.current, Arming.Exact(r.clock.now + 60 * SEC), "second retry backs off to 60 s")
    eq(r.scheduler.consecutiveFailures, 2, "failures counted")
    r.engine.failTick = null
    r.engine.timer(r.clock.now + 10 * MIN)
    r.scheduler.tick()
    eq(r.scheduler.consecutiveFailures, 0, "success resets the count")
    eq(r.alarm.current, Arming.Exact(r.clock.now + 10 * MIN), "and arming follows the engine again")
    r.engine.failEvent = IllegalArgumentException("fields_json: bad")
    r.scheduler.postEvent("x", "{")
    eq(r.alarm.current, Arming.Exact(r.clock.now + 30 * SEC), "a failing event arms a retry too")
}

private fun engineWakeupSoonerThanRetryIsKept() {
    val r = Rig()
    r.engine.timer(T0 + 10 * SEC)
    r.engine.failEvent = IllegalStateException("boom")
    r.scheduler.postEvent("x")
    eq(r.alarm.current, Arming.Exact(T0 + 10 * SEC), "the engine's own wake-up before the retry is not delayed")
    r.engine.timers.clear()
    r.engine.timer(T0 + 5 * MIN)
    r.scheduler.postEvent("x")
    eq(r.alarm.current, Arming.Exact(T0 + 60 * SEC), "a later engine wake-up yields to the (second) retry")
}

private fun failingWakeupQueryArmsRetry() {
    val r = Rig()
    r.engine.failWindow = IllegalStateException("the engine is closed")
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Exact(T0 + 30 * SEC), "an unreadable wake-up arms a retry rather than nothing")
    eq(r.scheduler.consecutiveFailures, 1, "and counts as a failure")
}

private fun refusedExactAlarmFallsBackToInexact() {
    val r = Rig()
    r.engine.timer(T0 + MIN)
    r.alarm.exactThrows = SecurityException("SCHEDULE_EXACT_ALARM revoked")
    r.scheduler.rearm()
    eq(r.alarm.current, Arming.Inexact(T0 + MIN, T0 + 2 * MIN), "refused exact alarm: inexact one instead")
    eq(r.scheduler.armed, Arming.Inexact(T0 + MIN, T0 + 2 * MIN), "scheduler reports the fallback")
    ok(r.logger.lines.any { it.first == LogLevel.WARN && it.second.contains("revoked") }, "refusal logged")
}

private fun brokenAlarmIsLoggedNotThrown() {
    val r = Rig()
    r.engine.timer(T0 + MIN)
    r.scheduler.rearm()
    r.alarm.exactThrows = SecurityException("no")
    r.alarm.inexactThrows = IllegalStateException("alarm service gone")
    r.engine.timer(T0 + 30 * SEC)
    r.scheduler.postEvent("x") // must not throw
    ok(r.logger.lines.any { it.first == LogLevel.ERROR && it.second.contains("alarm service gone") }, "arming failure logged")
    eq(r.scheduler.armed, Arming.Exact(T0 + MIN), "armed still shows the last wake-up that was really armed")
}

private fun failedEventIsNotRememberedAsDelivered() {
    val r = Rig()
    r.engine.failEvent = IllegalStateException("busy")
    val wifi = PlatformEvent.Network(true, "wifi", false)
    r.scheduler.onPlatformEvent(wifi)
    r.engine.failEvent = null
    r.scheduler.onPlatformEvent(wifi)
    eq(r.engine.calls.count { it.startsWith("event:network") }, 2, "a network state whose delivery failed is posted again")
    r.scheduler.onPlatformEvent(wifi)
    eq(r.engine.calls.count { it.startsWith("event:network") }, 2, "once delivered, the same state is not posted again")
}
