// Tests of the direct JNI bridge (org.dmsched.jni.NativeEngine), run on the
// host JVM under -Xcheck:jni with the library loaded by System.load: every
// method, engine errors becoming DmschedNativeException with their kind,
// host callbacks (including one that throws), handles after close, threads;
// NativeAgent (full-client mode, against the test DM server) in JniAgentTest.kt.
package org.dmsched.jni.test

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import org.dmsched.jni.DmschedNativeException
import org.dmsched.jni.NativeEngine
import org.dmsched.jni.NativeHost

var passed = 0
var failed = 0

fun ok(cond: Boolean, what: String) {
    if (cond) passed++ else { failed++; System.err.println("FAILED: $what") }
}

fun expectKind(kind: String, what: String, block: () -> Unit): DmschedNativeException? {
    try {
        block()
    } catch (e: DmschedNativeException) {
        if (e.kind == kind) { passed++; return e }
        failed++; System.err.println("FAILED: $what: kind ${e.kind} (${e.message})"); return null
    } catch (e: Throwable) {
        failed++; System.err.println("FAILED: $what: threw ${e::class.qualifiedName}: ${e.message}"); return null
    }
    failed++; System.err.println("FAILED: $what: nothing thrown"); return null
}

const val T0 = 1767225600000L // 2026-01-01T00:00:00Z
const val MIN = 60_000L

fun everyMinute(id: String) = """{"id": "$id", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}},
  "actions": [{"op": "Replace", "target": "./A", "data": "1"}], "policy": {"report": "always"}}]}"""

const val ON_CHARGER = """{"id": "c", "tasks": [{"id": "t", "trigger": {"event": {"name": "charger", "filter": "event.plugged == true"}},
  "constraints": {"require": "./Battery/Level < 50"},
  "actions": [{"op": "Exec", "target": "./Sync"}], "policy": {"report": "always"}}]}"""

class Host : NativeHost {
    val tree = ConcurrentHashMap<String, String>()
    val runs = AtomicInteger()
    val reports = AtomicInteger()
    @Volatile var lastContext = ""
    @Volatile var mode = "ok" // ok | throw | garbage

    override fun read(owner: String, uri: String): String? = tree[uri]

    override fun execute(contextJson: String, actionsJson: String): String {
        runs.incrementAndGet()
        lastContext = contextJson
        when (mode) {
            "throw" -> throw IllegalStateException("executor exploded")
            "garbage" -> return "not json"
            "pending" -> return "\"pending\""
        }
        return """[{"op": "Replace", "target": "./A", "status": 200}]"""
    }

    override fun reportReady(reportJson: String) {
        if (reportJson.contains("\"firing\"")) reports.incrementAndGet()
    }
}

/** A host whose user makes personalisation choices (the default method answers null). */
class ChoosingHost(private val choices: String) : NativeHost by Host() {
    @Volatile var asked = ""
    override fun personalize(contextJson: String, title: String, personalizeJson: String): String? {
        asked = "$title $personalizeJson"
        return choices
    }
}

// Issue 18, use case step 4: NativeHost.personalize is asked at install
// (a host that does not override it decides later); NativeEngine.personalize
// changes the choices, refused out of bounds.
fun testPersonalize() {
    val doc = """{"id": "p", "name": "Care", "tasks": [{"id": "t", "trigger": {"event": {"name": "go"}},
      "actions": [{"op": "Exec", "target": "./X"}]}],
      "personalize": {"params": [{"id": "share", "task": "t", "label": "Share usage", "opt_out": true}]}}"""
    val host = ChoosingHost("""{"share": true}""")
    NativeEngine.open(":memory:", "jni-test", "UTC", null, host).use { e ->
        ok(e.submit("srv", doc, T0).contains(""""choices":{"share":true}"""), "asked and stored")
        ok(host.asked.startsWith("Care ") && host.asked.contains("Share usage"), "asked with the parameters: ${host.asked}")
        ok(e.postEvent("go", "{}", T0 + MIN).contains("opted out"), "opted out: skipped")
        expectKind("InvalidSchedule", "out of bounds") { e.personalize("srv", "p", """{"share": 3}""", T0) }
        ok(e.personalize("srv", "p", "{}", T0 + 2 * MIN).contains(""""personalize":{"params""""), "back to the defaults")
        ok(e.postEvent("go", "{}", T0 + 3 * MIN).contains("\"outcome\":\"ran\""), "runs again")
    }
    open(Host()).use { e ->
        ok(!e.submit("srv", doc, T0).contains("\"choices\""), "a host without personalize decides later")
        ok(e.personalize("srv", "p", """{"share": true}""", T0).contains(""""choices":{"share":true}"""), "later")
    }
}

fun open(host: Host, path: String = ":memory:") =
    NativeEngine.open(path, "jni-test", "UTC", """{"limits": {"min_interval_seconds": 1}}""", host)

fun testLifecycle() {
    val host = Host()
    open(host).use { e ->
        ok(e.nextWakeup() == NativeEngine.NO_WAKEUP, "nothing scheduled: NO_WAKEUP")
        ok(e.wakeupWindow() == null, "nothing scheduled: no window")
        val info = e.submit("srv", everyMinute("m"), T0 + 30_000)
        ok(info.contains("\"state\":\"active\""), "submit returns the state: $info")
        ok(e.nextWakeup() == T0 + MIN, "next wake-up after submit")
        val w = e.wakeupWindow()
        ok(w != null && w.size == 2 && w[0] == T0 + MIN && w[1] >= w[0], "the wake-up window: ${w?.toList()}")
        ok(e.tick(T0 + 30_000) == "[]", "idle tick: empty array")
        val fired = e.tick(T0 + MIN)
        ok(fired.contains("\"outcome\":\"ran\""), "tick runs it: $fired")
        ok(host.runs.get() == 1 && host.lastContext.contains("\"owner\":\"srv\""), "ran once with the owner's identity")
        ok(host.reports.get() == 1, "report sink told")
        ok(e.get("srv", "srv", "m").contains("\"runs\":1"), "get")
        ok(e.list(null).contains("\"id\":\"m\""), "list all")
        ok(e.list("other") == "[]", "another authority sees nothing")
        val batch = e.pendingReports("srv", 10)
        val id = Regex("\"id\":(\\d+)").find(batch)?.groupValues?.get(1)?.toLong()
        ok(id != null, "pending report: $batch")
        ok(e.ackReports("srv", longArrayOf(id ?: -1)) == 1L, "ack removes it")
        ok(e.pendingReports("srv", 10).contains("\"reports\":[]"), "outbox empty")
        ok(e.suspend("srv", "srv", "m", T0 + MIN).contains("\"state\":\"suspended\""), "suspend")
        ok(e.resume("srv", "srv", "m", T0 + MIN).contains("\"state\":\"active\""), "resume")
        ok(e.modify("srv", "srv", everyMinute("m").replace("\"data\": \"1\"", "\"data\": \"2\""), T0 + MIN)
            .contains("\"id\":\"m\""), "modify")
        ok(e.terminate("srv", "srv", "m", T0 + MIN).contains("\"state\":\"terminated\""), "terminate")
        // Event + condition on the tree.
        e.submit("srv", ON_CHARGER, T0)
        host.tree["./Battery/Level"] = "30"
        val ev = e.postEvent("charger", """{"plugged": true}""", T0 + 2 * MIN)
        ok(ev.contains("\"schedule\":\"c\"") && ev.contains("\"outcome\":\"ran\""), "event runs the watcher: $ev")
        ok(e.postEvent("charger", """{"plugged": false}""", T0 + 3 * MIN) == "[]", "filtered out")
        ok(e.treeChanged("./Battery/Level", T0 + 3 * MIN).startsWith("["), "treeChanged")
        e.setTimeZone("Europe/Berlin", T0 + 3 * MIN)
    }
}

fun testErrors() {
    val host = Host()
    val e = open(host)
    val bad = expectKind("InvalidSchedule", "bad JSON") { e.submit("srv", "{not json", T0) }
    ok(bad?.message?.isNotEmpty() == true, "invalid schedule has a message")
    expectKind("InvalidSchedule", "bad RRULE") {
        e.submit("srv", """{"id": "r", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=SOMETIMES", "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}, "actions": [{"op": "Exec", "target": "./X"}]}]}""", T0)
    }
    expectKind("NotFound", "get unknown") { e.get("srv", "srv", "nope") }
    e.submit("srv", everyMinute("m"), T0)
    expectKind("AlreadyExists", "submit twice") { e.submit("srv", everyMinute("m"), T0) }
    expectKind("PermissionDenied", "another authority cannot end it") { e.terminate("intruder", "srv", "m", T0) }
    expectKind("NotFound", "nor see it") { e.get("intruder", "srv", "m") }
    expectKind("InvalidArgument", "bad fields JSON") { e.postEvent("x", "{", T0) }
    expectKind("InvalidArgument", "unknown zone") { e.setTimeZone("Mars/Olympus", T0) }
    expectKind("InvalidArgument", "negative limit") { e.pendingReports(null, -1) }
    expectKind("InvalidArgument", "bad options") { NativeEngine.open(":memory:", "d", "UTC", "{\"nope\": 1}", host) }
    expectKind("Storage", "unopenable store") { NativeEngine.open("/nonexistent-dir/x/y.db", "d", "UTC", null, host) }
    // Callbacks that fail make the run fail, with the reason, never a crash.
    host.mode = "throw"
    val before = host.runs.get()
    e.tick(T0 + MIN)
    ok(host.runs.get() > before, "the throwing executor was called")
    ok(e.get("srv", "srv", "m").contains("executor exploded"), "its message is the reason")
    host.mode = "garbage"
    e.tick(T0 + 10 * MIN)
    ok(e.get("srv", "srv", "m").contains("not a JSON array"), "garbage results are a clear failure")
    host.mode = "ok"
    e.close()
    e.close() // twice is harmless
    expectKind("Closed", "tick after close") { e.tick(T0) }
    expectKind("Closed", "nextWakeup after close") { e.nextWakeup() }
    expectKind("Closed", "wakeupWindow after close") { e.wakeupWindow() }
}

fun testReopen() {
    val dir = java.nio.file.Files.createTempDirectory("dmsched-jni")
    val path = dir.resolve("state.db").toString()
    open(Host(), path).use { it.submit("srv", everyMinute("m"), T0) }
    open(Host(), path).use { ok(it.get("srv", "srv", "m").contains("\"id\":\"m\""), "schedule survives a reopen") }
    dir.toFile().deleteRecursively()
}

fun testThreads() {
    val host = Host()
    open(host).use { e ->
        val errors = AtomicInteger()
        val threads = (0 until 4).map { t ->
            Thread {
                try {
                    for (k in 0 until 10) {
                        e.submit("srv", everyMinute("t$t-$k"), T0)
                        e.tick(T0 + (k + 1) * MIN)
                        e.nextWakeup()
                        try { e.get("srv", "srv", "absent-$t") } catch (x: DmschedNativeException) { if (x.kind != "NotFound") errors.incrementAndGet() }
                    }
                } catch (x: Throwable) {
                    System.err.println("thread $t: $x"); errors.incrementAndGet()
                }
            }
        }
        threads.forEach { it.start() }
        threads.forEach { it.join() }
        ok(errors.get() == 0, "no errors from 4 threads")
        ok(Regex("\"owner\":\"srv\"").findAll(e.list("srv")).count() == 40, "40 schedules from 4 threads")
    }
}

fun testPanic() {
    try {
        NativeEngine.selfTestPanic()
        ok(false, "a Rust panic must throw")
    } catch (e: DmschedNativeException) {
        ok(false, "a panic is not an engine error: ${e.kind}")
    } catch (e: RuntimeException) {
        ok(e.message?.contains("deliberate panic") == true, "a Rust panic becomes a RuntimeException: ${e.message}")
    }
    // The VM and the library still work afterwards.
    open(Host()).use { ok(it.nextWakeup() == NativeEngine.NO_WAKEUP, "usable after a panic") }
}

/**
 * Issue 15, long actions over JNI: `execute` answers `"pending"`; the run
 * stays open until `complete(run_id, resultsJson)`; a run that is not
 * waiting is InvalidState, results that are not JSON InvalidArgument.
 */
fun testLongActions() {
    val host = Host()
    host.mode = "pending"
    val doc = """{"id": "fw", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}},
        "actions": [{"op": "Exec", "target": "./FwUpdate/Pkg/Update"}], "policy": {"report": "always", "completion_timeout_seconds": 600}}]}"""
    open(host).use { e ->
        e.submit("srv", doc, T0 + 1000)
        ok(e.tick(T0 + 3_600_000) == "[]", "started, not finished")
        val runId = Regex("\"run_id\":(\\d+)").find(host.lastContext)?.groupValues?.get(1)?.toLong()
        ok(runId != null && runId > 0, "context_json carries run_id: ${host.lastContext}")
        ok(e.nextWakeup() == T0 + 3_600_000 + 600_000, "wakes at the completion timeout")
        expectKind("InvalidArgument", "results that are not JSON") { e.complete(runId!!, "nope", T0 + 3_700_000) }
        val done = e.complete(runId!!, """[{"op": "Exec", "target": "./FwUpdate/Pkg/Update", "status": 200}]""", T0 + 3_700_000)
        ok(done.contains("\"outcome\":\"ran\""), "completed: $done")
        expectKind("InvalidState", "completed twice") { e.complete(runId, "[]", T0 + 3_700_001) }
        ok(host.runs.get() == 1, "started once")
    }
}

fun main() {
    val lib = System.getProperty("dmsched.lib") ?: error("-Ddmsched.lib=/abs/path/libdmsched_uniffi.so")
    System.load(lib)
    testLifecycle()
    testLongActions()
    testErrors()
    testReopen()
    testThreads()
    testPanic()
    testPersonalize()
    agentJniTests()
    println("jni: $passed passed, $failed failed")
    if (failed != 0) kotlin.system.exitProcess(1)
}
