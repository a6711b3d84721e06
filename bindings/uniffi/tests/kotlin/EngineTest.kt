// Kotlin tests of the UniFFI bindings, run on the host JVM with JNA against
// the host-built libdmsched_uniffi: every exported function, error mapping,
// host callbacks (including ones that throw), the user prompt, the
// cross-authority authorizer, logging, re-entrance, lifetimes and threads;
// full-client mode (Agent, against the test DM server) in AgentTest.kt.
package org.dmsched.test

import java.util.concurrent.atomic.AtomicInteger
import org.dmsched.*

var passed = 0
var failed = 0

fun ok(cond: Boolean, what: String) {
    if (cond) passed++ else { failed++; System.err.println("FAILED: $what") }
}

inline fun <reified E : Throwable> expect(what: String, block: () -> Unit): E? {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) { passed++; return e }
        failed++; System.err.println("FAILED: $what: threw ${e::class.simpleName}: ${e.message}"); return null
    }
    failed++; System.err.println("FAILED: $what: nothing thrown"); return null
}

const val T0 = 1767225600000L // 2026-01-01T00:00:00Z
const val MIN = 60_000L

const val EVERY_MIN = """{"id": "m", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}},
  "actions": [{"op": "Replace", "target": "./A", "data": "1"}], "policy": {"report": "always"}}]}"""

class Host : TreeAccess, ActionExecutor, ReportSink {
    val tree = java.util.concurrent.ConcurrentHashMap<String, TreeValue>()
    val runs = AtomicInteger()
    val reports = AtomicInteger()
    @Volatile var lastOwner = ""
    @Volatile var mode = "ok" // ok | throw | host-error
    @Volatile var actionsWereJson = true

    override fun read(owner: String, uri: String): TreeValue? = tree[uri]

    override fun execute(context: RunContext, actionsJson: String): Execution {
        runs.incrementAndGet()
        lastOwner = context.owner
        when (mode) {
            "throw" -> throw IllegalStateException("executor exploded")
            "host-error" -> throw HostException.Failed("device busy")
        }
        if (!actionsJson.contains("\"op\"")) actionsWereJson = false
        return Execution.Done(listOf(CommandResult("Replace", "./A", 200, null)))
    }

    override fun reportReady(report: Report) {
        reports.incrementAndGet()
    }
}

fun settings() = EngineSettings(":memory:", "kotlin-test", "UTC", """{"limits": {"min_interval_seconds": 1}}""")

fun testLifecycle() {
    val host = Host()
    Engine.open(settings(), host, host, host, null, null).use { e ->
        val s = e.submit("srv", EVERY_MIN, T0 + 30_000)
        ok(s.state == State.ACTIVE, "submitted schedule is active")
        ok(s.nextRunMs == T0 + MIN, "next run is the next grid point")
        ok(e.nextWakeup() == T0 + MIN, "nextWakeup")
        val fired = e.tick(T0 + MIN)
        ok(fired.size == 1 && fired[0].outcome == Outcome.RAN, "tick runs the due task")
        ok(fired[0].results[0].status == 200, "results come back typed")
        ok(host.runs.get() == 1 && host.lastOwner == "srv", "executor ran with the owner's identity")
        ok(host.reports.get() == 1, "report sink told")
        ok(host.actionsWereJson, "actions arrive as JSON")
        val batch = e.pendingReports("srv", 10)
        ok(batch.reports.size == 1 && batch.dropped == 0L, "pendingReports")
        ok(e.ackReports("srv", listOf(batch.reports[0].id)) == 1L, "ackReports")
        ok(e.get("srv", "srv", "m").tasks[0].runs == 1, "get")
        ok(e.list("srv").size == 1 && e.list("intruder").isEmpty() && e.list(null).size == 1, "list by requester")
        ok(e.suspend("srv", "srv", "m", T0 + MIN).state == State.SUSPENDED, "suspend")
        ok(e.nextWakeup() == null, "suspended: nothing to wake for")
        ok(e.resume("srv", "srv", "m", T0 + 5 * MIN).state == State.ACTIVE, "resume")
        ok(e.modify("srv", "srv", EVERY_MIN, T0 + 5 * MIN).documentJson.contains("\"id\":\"m\""), "modify")
        ok(e.terminate("srv", "srv", "m", T0 + 6 * MIN).state == State.TERMINATED, "terminate")
    }
}

fun testErrors() {
    val host = Host()
    // Issue 15: optional parameters have defaults (settings: device "device",
    // zone UTC, no options; callbacks: no reports, prompt or authorizer).
    Engine.open(EngineSettings(storePath = ":memory:"), host, host).use { d ->
        ok(d.list(null).isEmpty() && d.nextWakeup() == null, "Engine.open with every default")
    }
    val e = Engine.open(settings(), host, host, null, null, null)
    val bad = expect<DmschedException.InvalidSchedule>("invalid schedule") {
        e.submit("srv", """{"id": "x", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=25", "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}, "actions": [{"op": "Get", "target": "./A"}]}]}""", T0)
    }
    ok(bad?.message?.contains("\$.tasks[0].trigger.calendar.rrule") == true, "message names the JSON path: ${bad?.message}")
    e.submit("srv", EVERY_MIN, T0)
    expect<DmschedException.AlreadyExists>("duplicate") { e.submit("srv", EVERY_MIN, T0) }
    expect<DmschedException.NotFound>("another authority cannot see it") { e.get("intruder", "srv", "m") }
    expect<DmschedException.PermissionDenied>("nor end it") { e.terminate("intruder", "srv", "m", T0) }
    expect<DmschedException.InvalidState>("resume an active schedule") { e.resume("srv", "srv", "m", T0) }
    expect<DmschedException.InvalidArgument>("bad event fields") { e.postEvent("x", "not json", T0) }
    expect<DmschedException.InvalidArgument>("time out of range") { e.tick(Long.MAX_VALUE) }
    expect<DmschedException.InvalidArgument>("bad options") {
        Engine.open(EngineSettings(":memory:", "d", "UTC", "{nope"), host, host, null, null, null)
    }
    expect<DmschedException.InvalidArgument>("unknown zone") {
        Engine.open(EngineSettings(":memory:", "d", "Mars/Olympus", null), host, host, null, null, null)
    }
    e.shutdown()
    expect<DmschedException.Closed>("calls after shutdown") { e.nextWakeup() }
    e.shutdown() // twice is harmless
    e.close()
}

fun testCallbacks() {
    val host = Host()
    host.tree["./Bat"] = TreeValue.Int(50)
    Engine.open(settings(), host, host, null, null, null).use { e ->
        e.submit("srv", """{"id": "low", "tasks": [{"id": "t", "trigger": {"becomes_true": "./Bat < 20"}, "actions": [{"op": "Exec", "target": "./S"}]}]}""", T0)
        e.submit("srv", """{"id": "ev", "tasks": [{"id": "t", "trigger": {"event": {"name": "network", "filter": "event.type == 'wifi'"}}, "actions": [{"op": "Exec", "target": "./S"}]}]}""", T0)
        e.tick(T0)
        host.tree["./Bat"] = TreeValue.Int(10)
        val f = e.treeChanged("./Bat", T0 + MIN)
        ok(f.size == 1 && f[0].schedule == "low", "tree change fires becomes_true")
        ok(e.postEvent("network", """{"type": "cellular"}""", T0 + 2 * MIN).isEmpty(), "filtered event")
        host.mode = "throw"
        val thrown = e.postEvent("network", """{"type": "wifi"}""", T0 + 3 * MIN)
        ok(thrown.size == 1 && thrown[0].outcome == Outcome.FAILED, "a callback that throws fails the run")
        ok(thrown[0].reason?.contains("executor exploded") == true, "with its message: ${thrown[0].reason}")
        host.mode = "host-error"
        val declined = e.postEvent("network", """{"type": "wifi"}""", T0 + 4 * MIN)
        ok(declined[0].outcome == Outcome.FAILED && declined[0].reason == "device busy", "HostException.Failed: ${declined[0].reason}")
    }
}

fun testThreads() {
    val host = Host()
    val e = Engine.open(settings(), host, host, null, null, null)
    val errors = AtomicInteger()
    val threads = (0 until 4).map { i ->
        Thread {
            try {
                for (k in 0 until 10) {
                    e.submit("srv", EVERY_MIN.replace("\"id\": \"m\"", "\"id\": \"t$i-$k\""), T0)
                    e.tick(T0 + (k + 1) * MIN)
                    e.nextWakeup()
                }
            } catch (x: Throwable) {
                errors.incrementAndGet(); System.err.println(x)
            }
        }
    }
    threads.forEach { it.start() }
    threads.forEach { it.join() }
    ok(errors.get() == 0, "no errors from 4 threads")
    ok(e.list("srv").size == 40, "40 schedules from 4 threads")
    e.close()
}

class Prompt : UserPrompt {
    @Volatile var answer: PromptAnswer = PromptAnswer.Accept
    val asked = AtomicInteger()
    @Volatile var title = ""
    /** The user's personalisation choices (JSON), or null: later. */
    @Volatile var choices: String? = null
    @Volatile var personalizeAsked = ""
    override fun confirm(context: RunContext, title: String): PromptAnswer {
        asked.incrementAndGet()
        this.title = title
        return answer
    }
    override fun personalize(context: RunContext, title: String, personalizeJson: String): String? {
        personalizeAsked = "${context.schedule} $title $personalizeJson"
        return choices
    }
}

const val PERSONAL = """{"id": "pers", "name": "Care", "tasks": [{"id": "t", "trigger": {"event": {"name": "go"}},
  "actions": [{"op": "Replace", "target": "./A", "data": "1"}]}],
  "personalize": {"params": [{"id": "share", "task": "t", "label": "Share usage", "opt_out": true},
                             {"id": "later", "task": "t", "delay": {"max_seconds": 60}}]}}"""

// Issue 18, use case step 4: the prompt is asked at install with the
// parameters; its choices are stored and applied; Engine.personalize
// changes them later, refused out of bounds.
fun testPersonalize() {
    val host = Host()
    val prompt = Prompt()
    prompt.choices = """{"share": true}"""
    Engine.open(settings(), host, host, null, prompt, null).use { e ->
        val s = e.submit("srv", PERSONAL, T0)
        ok(prompt.personalizeAsked.startsWith("pers Care ") && prompt.personalizeAsked.contains("Share usage"),
            "asked with the parameters: ${prompt.personalizeAsked}")
        ok(s.documentJson.contains(""""choices":{"share":true}"""), "choices stored: ${s.documentJson}")
        val skipped = e.postEvent("go", "{}", T0 + MIN)
        ok(skipped.size == 1 && skipped[0].outcome == Outcome.SKIPPED && skipped[0].reason!!.contains("opted out"),
            "opted out: skipped")
        val bad = expect<DmschedException.InvalidSchedule>("out of bounds") {
            e.personalize("srv", "pers", """{"later": 3600}""", T0 + 2 * MIN)
        }
        ok(bad?.message?.contains("more than the 60 s allowed") == true, "says why: ${bad?.message}")
        expect<DmschedException.InvalidArgument>("not JSON") { e.personalize("srv", "pers", "nope", T0) }
        val back = e.personalize("srv", "pers", """{"share": false}""", T0 + 3 * MIN)
        ok(back.documentJson.contains(""""choices":{"share":false}"""), "changed: ${back.documentJson}")
        val ran = e.postEvent("go", "{}", T0 + 4 * MIN)
        ok(ran.size == 1 && ran[0].outcome == Outcome.RAN, "opted in: ran")
        // Issue 18 (B10): the run history, oldest first.
        val history = e.get("srv", "srv", "pers").tasks[0].history
        ok(history.map { it.outcome } == listOf(Outcome.SKIPPED, Outcome.RAN) && history[1].runAtMs == T0 + 4 * MIN &&
            history[0].reason!!.contains("opted out"), "run history: $history")
    }
}

class Acl : Authorizer {
    override fun authorize(requester: String, owner: String, id: String, access: Access): Boolean =
        requester == "auditor" && access == Access.READ
}

class Lines : LogSink {
    val lines = java.util.concurrent.ConcurrentLinkedQueue<String>()
    override fun log(level: LogLevel, target: String, message: String) {
        lines.add("$level $target $message")
    }
}

const val CONFIRMED = """{"id": "p", "name": "Nightly sync", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 3600, "anchor": "2026-01-01T01:00:00Z"}},
  "actions": [{"op": "Exec", "target": "./S"}], "policy": {"confirm": true}, "constraints": {"max_delay_seconds": 1800}}]}"""

fun testPromptAuthorizerTimeZone() {
    val host = Host()
    val prompt = Prompt()
    Engine.open(settings(), host, host, null, prompt, Acl()).use { e ->
        e.submit("srv", CONFIRMED, T0 + 30 * MIN)
        prompt.answer = PromptAnswer.Postpone(600)
        ok(e.tick(T0 + 60 * MIN).isEmpty(), "postponed: nothing finished")
        ok(e.nextWakeup() == T0 + 70 * MIN, "asked again after 600 s")
        val w = e.wakeupWindow()
        ok(w != null && w.earliestMs == T0 + 70 * MIN && w.latestMs >= w.earliestMs, "wakeupWindow: $w")
        prompt.answer = PromptAnswer.Accept
        val ran = e.tick(T0 + 70 * MIN)
        ok(ran.size == 1 && ran[0].outcome == Outcome.RAN, "accepted: ran")
        prompt.answer = PromptAnswer.Refuse
        val refused = e.tick(T0 + 120 * MIN)
        ok(refused.size == 1 && refused[0].outcome == Outcome.SKIPPED, "refused: skipped")
        ok(prompt.asked.get() == 3, "asked three times")
        ok(prompt.title.isNotEmpty(), "the prompt gets a title: ${prompt.title}")
        // Cross-authority: the ACL lets the auditor read, nobody else.
        ok(e.get("auditor", "srv", "p").id == "p", "auditor may read")
        expect<DmschedException.NotFound>("intruder may not read") { e.get("intruder", "srv", "p") }
        expect<DmschedException.PermissionDenied>("auditor may not end it") { e.terminate("auditor", "srv", "p", T0) }
        // Time zone of the device.
        e.submit("srv", """{"id": "loc", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=9", "dtstart": "2026-01-01T09:00:00", "tz": "local"}}, "actions": [{"op": "Exec", "target": "./S"}]}]}""", T0)
        val utcNext = e.get("srv", "srv", "loc").nextRunMs
        e.setTimeZone("Europe/Berlin", T0 + 121 * MIN)
        val berlinNext = e.get("srv", "srv", "loc").nextRunMs
        ok(utcNext != null && berlinNext != null && utcNext - berlinNext == 60 * MIN, "local schedules re-planned: $utcNext -> $berlinNext")
        expect<DmschedException.InvalidArgument>("unknown zone") { e.setTimeZone("Mars/Olympus", T0) }
    }
    // Without a prompt a confirm task is refused.
    Engine.open(settings(), host, host, null, null, null).use { e ->
        e.submit("srv", CONFIRMED, T0 + 30 * MIN)
        val f = e.tick(T0 + 60 * MIN)
        ok(f.size == 1 && f[0].outcome == Outcome.SKIPPED, "no prompt: refused")
    }
}

class Reentrant(var engine: Engine? = null) : TreeAccess, ActionExecutor {
    @Volatile var error: Throwable? = null
    @Volatile var shutdownInside = false
    @Volatile var other: Engine? = null
    override fun read(owner: String, uri: String): TreeValue? = null
    override fun execute(context: RunContext, actionsJson: String): Execution {
        try {
            engine?.list(null)
        } catch (t: Throwable) {
            error = t
        }
        if (shutdownInside) engine?.shutdown()
        other?.shutdown()
        return Execution.Done(listOf(CommandResult("Exec", "./S", 200, null)))
    }
}

fun testReentranceAndLogging() {
    val lines = Lines()
    ok(initLogging(LogLevel.INFO, lines), "logging installed")
    val r = Reentrant()
    val e = Engine.open(settings(), r, r, null, null, null)
    r.engine = e
    e.submit("srv", EVERY_MIN, T0 + 30_000)
    val f = e.tick(T0 + MIN)
    ok(f.size == 1 && f[0].outcome == Outcome.RAN, "the run completes")
    ok(r.error is DmschedException.ReentrantCall && r.error?.message?.contains("called back") == true,
        "a callback calling back gets ReentrantCall, never a deadlock: ${r.error}")
    ok(lines.lines.any { it.startsWith("INFO dmsched::engine") && it.contains("srv") }, "engine lines reach the sink: ${lines.lines.take(3)}")
    ok(lines.lines.none { it.startsWith("DEBUG") }, "nothing below the level")
    initLogging(LogLevel.DEBUG, lines)
    e.tick(T0 + 2 * MIN)
    ok(lines.lines.any { it.startsWith("DEBUG") && it.contains("occurrence finished") }, "the level can be raised")
    initLogging(LogLevel.OFF, null)
    val n = lines.lines.size
    e.tick(T0 + 3 * MIN)
    ok(lines.lines.size == n, "OFF: nothing more")
    // shutdown() of another engine from inside a callback takes effect at once.
    val host = Host()
    val b = Engine.open(settings(), host, host, null, null, null)
    r.other = b
    ok(e.tick(T0 + 4 * MIN).size == 1, "the run that shuts down another engine finishes")
    expect<DmschedException.Closed>("the other engine is closed at once") { b.nextWakeup() }
    r.other = null
    b.close()
    // shutdown() from inside its own callback: the call finishes, then the engine is gone.
    r.shutdownInside = true
    val last = e.tick(T0 + 5 * MIN)
    ok(last.size == 1, "the call that shut it down finishes")
    expect<DmschedException.Closed>("closed after the call") { e.nextWakeup() }
    e.close()
}

fun testIdleTicks() {
    val host = Host()
    Engine.open(settings(), host, host, null, null, null).use { e ->
        e.submit("srv", EVERY_MIN, T0 + 30_000)
        e.tick(T0 + 30_000)
        var empty = true
        for (s in 31 until 60) if (e.tick(T0 + s * 1000L).isNotEmpty()) empty = false
        ok(empty && host.runs.get() == 0, "idle ticks run nothing")
        ok(e.tick(T0 + MIN).size == 1, "the due tick runs")
        // The clock going back after idle ticks: the interval keeps its remainder.
        e.tick(T0 + MIN + 50_000)
        e.tick(T0 + MIN + 20_000)
        ok(e.nextWakeup() == T0 + MIN + 30_000, "clock back measured from the latest idle tick: ${e.nextWakeup()}")
    }
}

/** Leaves every run to finish later, remembering its id. */
class LongRunner : TreeAccess, ActionExecutor {
    val started = java.util.concurrent.ConcurrentLinkedQueue<RunContext>()
    override fun read(owner: String, uri: String): TreeValue? = null
    override fun execute(context: RunContext, actionsJson: String): Execution {
        started.add(context)
        return Execution.Pending
    }
}

/**
 * Issue 15, long actions: the executor answers Pending (a firmware update
 * outliving the call); the run stays open until `complete(runId, results)`,
 * which finishes it as if `execute` had returned them; completing a run
 * that is not waiting is InvalidState.
 */
fun testLongActions() {
    val host = LongRunner()
    val doc = """{"id": "fw", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}},
        "actions": [{"op": "Exec", "target": "./FwUpdate/Pkg/Update"}], "policy": {"report": "always", "completion_timeout_seconds": 600}}]}"""
    Engine.open(settings(), host, host).use { e ->
        e.submit("srv", doc, T0 + 1000)
        ok(e.tick(T0 + 3_600_000).isEmpty(), "started, not finished")
        val run = host.started.single()
        ok(run.runId > 0, "the run has an id: $run")
        ok(e.nextWakeup() == T0 + 3_600_000 + 600_000, "wakes at the completion timeout: ${e.nextWakeup()}")
        val done = e.complete(run.runId, listOf(CommandResult("Exec", "./FwUpdate/Pkg/Update", 200, null)), T0 + 3_900_000)
        ok(done.size == 1 && done[0].outcome == Outcome.RAN && done[0].results[0].status == 200, "completed: $done")
        expect<DmschedException.InvalidState>("completing it again") {
            e.complete(run.runId, listOf(), T0 + 3_900_001)
        }
        expect<DmschedException.InvalidArgument>("a result that is no DM command") {
            e.complete(run.runId, listOf(CommandResult("Frobnicate", "./X", 200, null)), T0 + 3_900_001)
        }
        ok(e.pendingReports("srv", 10).reports.size == 1, "one report")
    }
}

fun main() {
    testLifecycle()
    testLongActions()
    testErrors()
    testCallbacks()
    testThreads()
    testPromptAuthorizerTimeZone()
    testPersonalize()
    testReentranceAndLogging()
    testIdleTicks()
    agentTests()
    println("$passed passed, $failed failed")
    if (failed > 0) kotlin.system.exitProcess(1)
}
