// The JNI engine adapter: its "none" sentinel, its JSON results, its gaps.
package org.dmsched.android.core

private class FakeNative(var next: Long = Long.MIN_VALUE, var window: LongArray? = null, var result: String = "[]") : NativeEngineCalls {
    val calls = ArrayList<String>()
    override fun nextWakeup(): Long = next
    override fun wakeupWindow(): LongArray? = window
    override fun tick(nowMs: Long): String { calls += "tick@$nowMs"; return result }
    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): String {
        calls += "event:$name:$fieldsJson@$nowMs"
        return result
    }
}

fun nativeEngineTests() {
    eq(JsonArrays.elements("[]"), emptyList<String>(), "empty array")
    eq(JsonArrays.elements(" [ ] "), emptyList<String>(), "empty array with spaces")
    eq(
        JsonArrays.elements("""[{"a":1,"b":[1,2]}, {"s":"x,]}\"{"}]"""),
        listOf("""{"a":1,"b":[1,2]}""", """{"s":"x,]}\"{"}"""),
        "objects with nested arrays and tricky strings",
    )
    eq(JsonArrays.elements("[1,\"a\\\\\",null]"), listOf("1", "\"a\\\\\"", "null"), "escaped backslash ends the string")
    throws<IllegalArgumentException>("not an array") { JsonArrays.elements("{}") }
    throws<IllegalArgumentException>("unbalanced") { JsonArrays.elements("[{]") }
    throws<IllegalArgumentException>("trailing comma") { JsonArrays.elements("[1,]") }
    throws<IllegalArgumentException>("empty element") { JsonArrays.elements("[1,,2]") }

    val n = FakeNative()
    val e = NativeSchedulerEngine(n)
    eq(e.wakeupWindow(), null, "Long.MIN_VALUE means nothing due")
    n.next = T0 + MIN
    eq(e.wakeupWindow(), WakeupWindow(T0 + MIN, T0 + MIN), "a next wake-up is an exact window")
    n.window = longArrayOf(T0 + MIN, T0 + 9 * MIN)
    eq(e.wakeupWindow(), WakeupWindow(T0 + MIN, T0 + 9 * MIN), "a window, when exposed, wins")
    n.window = longArrayOf(1)
    throws<IllegalArgumentException>("a malformed window is an error") { e.wakeupWindow() }
    n.window = null
    n.result = """[{"schedule":"m","outcome":"ran"},{"schedule":"n","outcome":"failed"}]"""
    eq(e.tick(T0).size, 2, "tick returns one text per firing")
    eq(e.postEvent("boot", null, T0), listOf("""{"schedule":"m","outcome":"ran"}""", """{"schedule":"n","outcome":"failed"}"""), "postEvent too")
    eq(n.calls, listOf("tick@$T0", "event:boot:null@$T0"), "calls pass through")
    throws<UnsupportedOperationException>("setTimeZone not exposed") { e.setTimeZone("UTC", T0) }

    // Through the scheduler: an unsupported zone change is logged, and the tick still happens.
    val clock = FakeClock()
    val alarm = FakeAlarm()
    val log = FakeLogger()
    val s = DmScheduler(e, alarm, clock, AlarmPolicy(), log)
    n.result = "[]"
    s.setTimeZone("Europe/Paris")
    ok(n.calls.contains("tick@$T0"), "zone change over JNI without setTimeZone still ticks: ${n.calls}")
    eq(alarm.current, Arming.Exact(T0 + MIN), "and arms from nextWakeup")
    n.result = "garbage"
    s.tick()
    eq(alarm.current, Arming.Exact(T0 + 30 * SEC), "an unreadable result is a failure: retry armed")
}
