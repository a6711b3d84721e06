// JSON writing, the exact/inexact policy and the hybrid alarm.
package org.dmsched.android.core

fun jsonTests() {
    eq(Json.quote("plain"), "\"plain\"", "plain string")
    eq(Json.quote("a\"b\\c"), "\"a\\\"b\\\\c\"", "quote and backslash escaped")
    eq(Json.quote("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"", "newline, CR, tab escaped")
    eq(Json.quote("\u0001\u001f\b\u000C"), "\"\\u0001\\u001f\\b\\f\"", "control characters escaped")
    eq(Json.quote("x\u2028y"), "\"x\\u2028y\"", "U+2028 escaped")
    eq(Json.quote("Zürich ☃"), "\"Zürich ☃\"", "non-ASCII kept")
    eq(Json.obj(), "{}", "empty object")
    eq(
        Json.obj("b" to true, "i" to 3, "l" to 9_000_000_000L, "d" to 1.5, "s" to "x", "n" to null),
        "{\"b\":true,\"i\":3,\"l\":9000000000,\"d\":1.5,\"s\":\"x\",\"n\":null}",
        "object of every scalar, in order",
    )
    eq(Json.obj("k\"ey" to "v"), "{\"k\\\"ey\":\"v\"}", "keys escaped too")
    throws<IllegalArgumentException>("NaN is not JSON") { Json.obj("x" to Double.NaN) }
    throws<IllegalArgumentException>("lists are not supported") { Json.obj("x" to listOf(1)) }
}

fun policyTests() {
    val p = AlarmPolicy()
    val now = T0
    eq(p.decide(now, null, canExact = true, justTicked = false), Arming.None, "no window: nothing armed")
    eq(p.decide(now, WakeupWindow(now + MIN, now + MIN), true, false), Arming.Exact(now + MIN), "zero-width window: exact")
    eq(
        p.decide(now, WakeupWindow(now + MIN, now + MIN + 59 * SEC), true, false),
        Arming.Exact(now + MIN),
        "window under the slack: exact at its start",
    )
    eq(
        p.decide(now, WakeupWindow(now + MIN, now + 2 * MIN), true, false),
        Arming.Inexact(now + MIN, now + 2 * MIN),
        "window of exactly the slack: inexact",
    )
    eq(
        p.decide(now, WakeupWindow(now + MIN, now + MIN), false, false),
        Arming.Inexact(now + MIN, now + MIN),
        "exact needed but not permitted: inexact at the same instant",
    )
    val wide = WakeupWindow(now + MIN, now + 30 * MIN)
    eq(p.decide(now, wide, true, false), Arming.Inexact(wide.earliestMs, wide.latestMs), "wide window: inexact")
    eq(AlarmPolicy(mode = ExactMode.ALWAYS).decide(now, wide, true, false), Arming.Exact(wide.earliestMs), "ALWAYS: exact")
    eq(
        AlarmPolicy(mode = ExactMode.ALWAYS).decide(now, wide, false, false),
        Arming.Inexact(wide.earliestMs, wide.latestMs),
        "ALWAYS without permission: inexact",
    )
    eq(
        AlarmPolicy(mode = ExactMode.NEVER).decide(now, WakeupWindow(now + MIN, now + MIN), true, false),
        Arming.Inexact(now + MIN, now + MIN),
        "NEVER: inexact even when narrow",
    )
    eq(
        p.decide(now, WakeupWindow(now - MIN, now - MIN), true, justTicked = false),
        Arming.Exact(now),
        "past due after an edit or event: wake now",
    )
    eq(
        p.decide(now, WakeupWindow(now - MIN, now - MIN), true, justTicked = true),
        Arming.Exact(now + p.stuckDelayMs),
        "still due right after a tick: wait instead of spinning",
    )
    eq(
        p.decide(now, WakeupWindow(now - MIN, now + 20 * MIN), true, justTicked = false),
        Arming.Inexact(now, now + 20 * MIN),
        "window already begun: starts now, keeps its end",
    )
    eq(p.retryWindow(now, 1), WakeupWindow(now + 30 * SEC, now + 45 * SEC), "first retry after 30 s")
    eq(p.retryWindow(now, 2).earliestMs, now + 60 * SEC, "second retry after 60 s")
    eq(p.retryWindow(now, 7).earliestMs, now + 30 * MIN, "retries cap at 30 min")
    eq(p.retryWindow(now, 5000).earliestMs, now + 30 * MIN, "many failures do not overflow the delay")
    throws<IllegalArgumentException>("a window ending before it starts is rejected") { WakeupWindow(now, now - 1) }
    throws<IllegalArgumentException>("a policy without a retry delay is rejected") { AlarmPolicy(retryBaseMs = 0) }
}

fun hybridAlarmTests() {
    val exact = FakeAlarm()
    val inexact = FakeAlarm().also { it.exactAllowed = false }
    val h = HybridWakeupAlarm(exact, inexact)
    ok(h.canArmExact(), "permission comes from the exact alarm")
    exact.exactAllowed = false
    ok(!h.canArmExact(), "revoked permission seen")
    h.armInexact(T0 + MIN, T0 + 10 * MIN)
    eq(inexact.current, Arming.Inexact(T0 + MIN, T0 + 10 * MIN), "inexact wake-up through the inexact alarm")
    eq(exact.current, Arming.None, "and the exact one cancelled")
    h.armExact(T0 + 2 * MIN)
    eq(exact.current, Arming.Exact(T0 + 2 * MIN), "exact wake-up through the exact alarm")
    eq(inexact.current, Arming.None, "and the inexact one cancelled")
    h.cancel()
    ok(exact.current == Arming.None && inexact.current == Arming.None, "cancel clears both")
    exact.exactThrows = SecurityException("no permission")
    h.armInexact(T0 + MIN, T0 + 10 * MIN)
    throws<SecurityException>("a refused exact alarm is reported to the caller") { h.armExact(T0 + 3 * MIN) }
    eq(inexact.current, Arming.Inexact(T0 + MIN, T0 + 10 * MIN), "a refused exact alarm leaves the inexact one armed")
}
