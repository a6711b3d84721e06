// Kotlin tests of full-client mode (org.dmsched.Agent) against the test DM
// server as a child process: provisioning with the server's CA, package #0,
// sessions that install schedules as JSON documents in ./Scheduling, runs
// offline (tick, event, tree value), reports delivered as Generic Alerts
// 1226 and dropped once acknowledged, UI alerts through UserInteraction,
// error mapping, re-entrance, shutdown and reopening; reports delivered at
// once (deliverReports, retried while the server is gone) and hand-off mode
// (an ActionExecutor runs the scheduled commands). Run from EngineTest's main.
package org.dmsched.test

import java.io.File
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import org.dmsched.*
import org.dmsched.testing.*

class Ui : UserInteraction {
    val requests = java.util.concurrent.ConcurrentLinkedQueue<UiRequest>()
    @Volatile var agent: Agent? = null
    @Volatile var reentry: Throwable? = null
    @Volatile var fail = false
    override fun interact(request: UiRequest): UiResponse {
        requests.add(request)
        try { agent?.schedules() } catch (t: Throwable) { reentry = t }
        if (fail) throw HostException.Failed("no screen")
        return when (request.kind) {
            is UiKind.TextInput -> UiResponse.Text("kotlin")
            is UiKind.MultipleChoice -> UiResponse.Choices(listOf(1, 3))
            else -> UiResponse.Yes
        }
    }
}

/** Shuts its agent down from inside the first alert, then answers as asked. */
class ShutdownUi : UserInteraction {
    @Volatile var agent: Agent? = null
    val calls = AtomicInteger()
    override fun interact(request: UiRequest): UiResponse {
        calls.incrementAndGet()
        agent?.shutdown()
        return when (request.kind) {
            is UiKind.TextInput -> UiResponse.Text("x")
            is UiKind.MultipleChoice -> UiResponse.Choices(listOf(2))
            else -> UiResponse.Yes
        }
    }
}

class CountingPrompt : UserPrompt {
    val asked = AtomicInteger()
    override fun confirm(context: RunContext, title: String): PromptAnswer {
        asked.incrementAndGet()
        return PromptAnswer.Accept
    }
    override fun personalize(context: RunContext, title: String, personalizeJson: String): String? = null
}

fun agentSettings(dir: File) = AgentSettings(
    stateDir = dir.path,
    device = DeviceFacts(devId = DEVICE, man = "dmsched", model = "kotlin-test", lang = "en-US"),
    httpTimeoutMs = 10_000L,
)

fun statusesOf(s: SessionSummary, command: String) = s.statuses.filter { it.command == command }.map { it.code }

fun testAgentFullClient(root: File) {
    val ui = Ui()
    val prompt = CountingPrompt()
    val state = File(root, "agent")
    DmServer(File(root, "server"), installScript()).use { srv ->
        val agent = Agent.open(agentSettings(state), AGENT_T0, prompt = prompt, ui = ui)
        ui.agent = agent
        // Errors before any account.
        val badJson = expect<DmschedException.InvalidArgument>("account that is not JSON") {
            agent.provision("{not json", null, AGENT_T0)
        }
        ok(badJson?.message?.contains("account") == true, "bad account JSON names the account: ${badJson?.message}")
        val unknown = expect<DmschedException.NoAccount>("session with an unknown server") {
            agent.runSession("nobody", null, AGENT_T0)
        }
        ok(unknown?.message?.contains("nobody") == true, "the message names the server: ${unknown?.message}")
        expect<DmschedException.NotificationRefused>("garbage package #0") {
            agent.acceptNotification(byteArrayOf(1, 2, 3), AGENT_T0)
        }
        expect<DmschedException.NoAccount>("unknown auth type") {
            agent.provision(accountJson(srv.url).replace("\"DIGEST\"", "\"ROT13\""), srv.caPem, AGENT_T0)
        }

        ok(agent.provision(accountJson(srv.url), srv.caPem, AGENT_T0) == SERVER_ID, "provision returns the server id")
        expect<DmschedException.AlreadyExists>("provision twice") { agent.provision(accountJson(srv.url), srv.caPem, AGENT_T0) }

        // Package #0 from the server: accepted once, then a replay.
        val proof = agent.acceptNotification(srv.pkg0, AGENT_T0)
        val info = proof.info()
        ok(info.serverId == SERVER_ID && info.uiMode == UiMode.BACKGROUND && info.initiator == Initiator.SERVER,
            "package #0 decoded: $info")
        ok(info.version == 12 && !info.usedResyncNonce, "version 1.2, the account's nonce")
        val replay = expect<DmschedException.NotificationRefused>("the same package #0 again") {
            agent.acceptNotification(srv.pkg0, AGENT_T0)
        }
        ok(replay?.message?.contains("replay") == true, "refused as a replay: ${replay?.message}")

        // Session 1 (server-initiated): the confirmation alert, three installs.
        val first = agent.runSession(info.serverId, proof, AGENT_T0)
        ok(first.serverId == SERVER_ID && first.notification?.sessionId == info.sessionId, "the summary names the server and the package #0: $first")
        ok(statusesOf(first, "Alert") == listOf(200, 200, 200), "UI alerts answered (200 each): ${first.statuses}")
        ok(statusesOf(first, "Add") == listOf(200, 200, 200), "three schedules installed: ${first.statuses}")
        ok(statusesOf(first, "Get") == listOf(200), "state read in the second package")
        ok(first.sent >= 2 && first.received >= 2 && !first.aborted, "summary counts: $first")
        val (req, text, choice) = ui.requests.toList().let { Triple(it[0], it[1], it[2]) }
        ok(ui.requests.size == 3 && req.kind == UiKind.Confirm && req.text == "Install the schedules?" &&
            req.serverId == SERVER_ID && req.maxDisplaySecs == 10 && req.defaultResponse == "1",
            "UserInteraction got the 1101: $req")
        ok(text.kind == UiKind.TextInput(8, "A", "T") && text.text == "Your name?", "and the 1102: $text")
        ok(choice.kind == UiKind.MultipleChoice(listOf("red", "green", "blue")) && choice.text == "Pick", "and the 1104: $choice")
        ok(ui.reentry is DmschedException.ReentrantCall, "a UI callback calling the agent gets ReentrantCall: ${ui.reentry}")
        ui.agent = null

        ok(agent.tick(AGENT_T0).isEmpty(), "the first tick evaluates the new conditions, runs nothing")
        val all = agent.schedules()
        ok(all.map { it.id }.sorted() == listOf("S1", "S2", "S3") && all.all { it.owner == SERVER_ID && it.state == State.ACTIVE },
            "schedules installed over DM: ${all.map { "${it.owner}/${it.id}:${it.state}" }}")
        val due = AGENT_T0 + 30 * MIN
        ok(all.first { it.id == "S1" }.nextRunMs == due, "S1 runs at 12:30: ${all.map { "${it.id} ${it.nextRunMs}" }}")
        ok(agent.nextWakeup() == due, "next wake-up is S1's first run: ${agent.nextWakeup()}")
        val w = agent.wakeupWindow()
        ok(w != null && w.earliestMs == due && w.latestMs >= due, "wakeupWindow: $w")
        ok(agent.pendingReports(SERVER_ID).isEmpty(), "nothing to report yet")

        // Offline: tick past the due time, an event, a tree value.
        ok(agent.tick(due - 1000).isEmpty(), "nothing before the due time")
        val fired = agent.tick(due)
        ok(fired.size == 1 && fired[0].schedule == "S1" && fired[0].outcome == Outcome.RAN, "S1 ran at its due time: $fired")
        ok(fired[0].results.firstOrNull()?.data == "dmsched", "its Get read the device's tree: ${fired[0].results}")
        // Issue 18, 6.1.7.4: its Alert went to UserInteraction, in the owner's name.
        val shown = ui.requests.filter { it.text == "Checked" }
        ok(shown.size == 1 && shown[0].kind == UiKind.Display && shown[0].serverId == SERVER_ID,
            "the scheduled Alert reached UserInteraction: $shown")
        ok(fired[0].results.getOrNull(1)?.let { it.op == "Alert" && it.status == 200 } == true,
            "and its answer is a result: ${fired[0].results}")
        val reports = agent.pendingReports(SERVER_ID)
        ok(reports.size == 1 && reports[0].source == "./Scheduling/Schedules/S1/Tasks/T1" &&
            reports[0].metaType == "org.dmsched.scheduling.result" && reports[0].data.contains("<Outcome>ran</Outcome>") &&
            reports[0].id != null && reports[0].mark == "informational",
            "a result report waits for the server: $reports")
        ok(reports[0].reportId.length == 32 && reports[0].createdMs == due &&
            reports[0].data.startsWith("<Result><ReportID>${reports[0].reportId}</ReportID>"),
            "the report's identity: ${reports[0]}")
        val booted = agent.postEvent("boot", null, due + MIN)
        ok(booted.size == 1 && booted[0].schedule == "S2" && booted[0].outcome == Outcome.RAN && prompt.asked.get() == 1,
            "the event ran S2 after the prompt: $booted")
        ok(agent.setValue("./Vendor/Battery", TreeValue.Int(50), due + 2 * MIN).isEmpty(), "50: nothing")
        val low = agent.setValue("./Vendor/Battery", TreeValue.Int(10), due + 3 * MIN)
        ok(low.size == 1 && low[0].schedule == "S3", "the tree value ran S3: $low")
        ok(agent.pendingReports(SERVER_ID).size == 3, "three reports wait")
        ok(agent.pendingReports("somebody-else").isEmpty(), "none for another server")

        // Session 2 (client-initiated): the reports go out and are acknowledged.
        ui.fail = true
        val second = agent.runSession(SERVER_ID, null, due + 4 * MIN)
        ok(statusesOf(second, "Alert") == listOf(416, 416, 416), "a UI that throws answers 416: ${second.statuses}")
        ok(second.alertsDelivered >= 3, "the server acknowledged the reports: $second")
        ok(statusesOf(second, "Add") == listOf(418, 418, 418), "installing again: 418 each: ${second.statuses}")
        ok(agent.pendingReports(SERVER_ID).isEmpty(), "acknowledged reports are gone")
        val alerts = srv.records().filter { it.contains("\"kind\":\"alert\"") && it.contains("org.dmsched.scheduling.result") }
        ok(alerts.size == 3, "the server got three result reports as Generic Alerts: ${alerts.size}")

        // More error mapping.
        val badUri = expect<DmschedException.InvalidArgument>("a URI that is not one") { agent.setValue("/Vendor/Battery", TreeValue.Text("x"), due) }
        ok(badUri?.message?.contains("DM status 400") == true, "tree errors keep their DM status: ${badUri?.message}")
        val interior = expect<DmschedException>("a value on an interior node") { agent.setValue("./Vendor", TreeValue.Int(1), due) }
        ok(interior?.message?.contains("DM status") == true, "with its DM status: ${interior?.message}")
        expect<DmschedException.InvalidArgument>("bad event fields") { agent.postEvent("boot", "{", due) }
        expect<DmschedException.InvalidArgument>("time out of range") { agent.tick(Long.MAX_VALUE) }
        agent.setTimeZone("Europe/Paris", AGENT_T0)
        val zone = expect<DmschedException.InvalidArgument>("an unknown zone") { agent.setTimeZone("Mars/Olympus", AGENT_T0) }
        ok(zone?.message?.contains("Mars/Olympus") == true, "names the zone: ${zone?.message}")
        agent.provision(accountJson("https://127.0.0.1:1/dm", serverId = "offline"), srv.caPem, due)
        val down = expect<DmschedException.Transport>("a server that is not there") { agent.runSession("offline", null, due) }
        ok(down?.message?.contains("transport") == true, "a transport failure: ${down?.message}")
        agent.provision(accountJson(srv.url, serverId = "untrusted"), null, due)
        expect<DmschedException.Transport>("a certificate the public roots do not trust") { agent.runSession("untrusted", null, due) }

        val nextRun = agent.nextWakeup()
        agent.shutdown()
        expect<DmschedException.Closed>("calls after shutdown") { agent.schedules() }
        agent.shutdown() // twice is harmless
        agent.close()

        // Reopened from the same directory: schedules and account survive.
        val closer = ShutdownUi()
        Agent.open(agentSettings(state), due + 5 * MIN, ui = closer).use { again ->
            ok(again.schedules().size == 3, "schedules survive a reopen")
            expect<DmschedException.AlreadyExists>("and the account") { again.provision(accountJson(srv.url), srv.caPem, due) }
            ok(nextRun != null && nextRun > due && again.nextWakeup() == nextRun, "the next run survives too: $nextRun ${again.nextWakeup()}")
            // Four threads on one agent.
            val errors = AtomicInteger()
            val threads = (0 until 4).map { i ->
                Thread {
                    try {
                        for (k in 0 until 20) {
                            again.tick(due + 5 * MIN + k * 1000L)
                            again.nextWakeup()
                            if (again.schedules().size != 3) errors.incrementAndGet()
                            again.pendingReports(SERVER_ID)
                            again.postEvent("thread-$i", null, due + 5 * MIN + k * 1000L)
                        }
                    } catch (x: Throwable) {
                        errors.incrementAndGet(); System.err.println(x)
                    }
                }
            }
            threads.forEach { it.start() }
            threads.forEach { it.join() }
            ok(errors.get() == 0, "no errors from 4 threads")
            // shutdown() from inside a callback: the session finishes, then the agent is gone.
            closer.agent = again
            val last = again.runSession(SERVER_ID, null, due + 6 * MIN)
            ok(closer.calls.get() == 3 && statusesOf(last, "Alert") == listOf(200, 200, 200), "the session that shut it down finishes: ${last.statuses}")
            expect<DmschedException.Closed>("closed after that call") { again.nextWakeup() }
        }
    }
    expect<DmschedException.InvalidArgument>("bad engine options") {
        Agent.open(agentSettings(File(root, "other")).copy(optionsJson = "{nope"), AGENT_T0)
    }
    expect<DmschedException.InvalidArgument>("unknown zone") {
        Agent.open(agentSettings(File(root, "other2")).copy(timeZone = "Mars/Olympus"), AGENT_T0)
    }
}

/**
 * 6.3.4.1.10: a task with `"report_delivery": "immediate"` makes its result
 * due at once: `deliverReports` opens a session that delivers it (the server
 * gets the Generic Alert 1226 with the Meta Type `MoSettings` sets) and a
 * second call has nothing to do. With the server gone the attempt fails and
 * is put off by `reportRetry` (10 s, then 15 s: the maximum), which
 * `nextWakeup` includes.
 */
fun testAgentDeliversReportsAtOnce(root: File) {
    val srv = DmServer(File(root, "server-deliver"), deliverScript())
    try {
        val settings = agentSettings(File(root, "agent-deliver")).copy(
            mo = MoSettings(reportType = "com.example.sched.result"),
            reportRetry = ReportRetry(firstSeconds = 10L, maxSeconds = 15L),
        )
        Agent.open(settings, AGENT_T0).use { agent ->
            agent.provision(accountJson(srv.url), srv.caPem, AGENT_T0)
            ok(agent.reportsToDeliver().isEmpty() && agent.deliverReports(AGENT_T0).isEmpty(), "nothing to deliver yet")
            ok(statusesOf(agent.runSession(SERVER_ID, null, AGENT_T0), "Add") == listOf(200), "the server installs SD")
            val at = AGENT_T0 + 5 * MIN
            ok(agent.nextWakeup() == at, "SD runs at 12:05: ${agent.nextWakeup()}")
            val fired = agent.tick(at)
            ok(fired.size == 1 && fired[0].schedule == "SD" && fired[0].outcome == Outcome.RAN, "SD ran: $fired")
            ok(agent.reportsToDeliver() == listOf(SERVER_ID), "its report is due at once: ${agent.reportsToDeliver()}")
            ok(agent.nextWakeup() == at, "so the next wake-up is now: ${agent.nextWakeup()}")
            val pending = agent.pendingReports(SERVER_ID)
            ok(pending.size == 1 && pending[0].metaType == "com.example.sched.result" && pending[0].evicted == 0L,
                "the report has the Meta Type of MoSettings: $pending")

            val done = agent.deliverReports(at + MIN)
            ok(done.size == 1 && done[0].serverId == SERVER_ID && done[0].error == null && done[0].retryAtMs == null &&
                done[0].attempts == 0 && done[0].delivered >= 1, "delivered in a session of its own: $done")
            val alerts = srv.records().count { it.contains("\"meta_type\":\"com.example.sched.result\"") }
            ok(alerts == 1, "the server got the Generic Alert once: $alerts")
            ok(agent.deliverReports(at + MIN).isEmpty(), "a second call has nothing to do")
            ok(agent.reportsToDeliver().isEmpty() && agent.pendingReports(SERVER_ID).isEmpty(), "and nothing waits")
            ok(agent.nextWakeup() == at + 60 * MIN, "the next wake-up is SD's next run: ${agent.nextWakeup()}")

            // The server is gone: the next report waits, retried with the backoff.
            srv.close()
            agent.tick(at + 60 * MIN)
            val t = at + 61 * MIN
            val failed = agent.deliverReports(t)
            ok(failed.size == 1 && failed[0].error != null && failed[0].delivered == 0 && failed[0].attempts == 1 &&
                failed[0].retryAtMs == t + 10_000, "a failed delivery, retried after 10 s: $failed")
            ok(agent.nextWakeup() == t + 10_000, "nextWakeup includes the retry: ${agent.nextWakeup()}")
            ok(agent.deliverReports(t + 5_000).isEmpty(), "not before its time")
            val again = agent.deliverReports(t + 10_000)
            ok(again.size == 1 && again[0].attempts == 2 && again[0].retryAtMs == t + 25_000, "then after 15 s (the maximum): $again")
            ok(agent.reportsToDeliver() == listOf(SERVER_ID) && agent.pendingReports(SERVER_ID).size == 1, "the report still waits")
            agent.shutdown()
            expect<DmschedException.Closed>("deliverReports after shutdown") { agent.deliverReports(t) }
        }
    } finally {
        srv.close()
    }
}

/** The host's own DM stack: 202 for every command, and a throw for ./Vendor/Other. */
class HostStack : ActionExecutor {
    val runs = java.util.concurrent.ConcurrentLinkedQueue<Pair<RunContext, String>>()
    @Volatile var agent: Agent? = null
    @Volatile var reentry: Throwable? = null
    override fun execute(context: RunContext, actionsJson: String): Execution {
        runs.add(context to actionsJson)
        try { agent?.schedules() } catch (t: Throwable) { reentry = t }
        if (actionsJson.contains("./Vendor/Other")) throw IllegalStateException("host DM stack busy")
        return Execution.Done(listOf(CommandResult(op = "Replace", target = "./Vendor/Mode", status = 202, data = null)))
    }
}

/**
 * 6.1.7.4, 6.1.7.6: hand-off mode. With an `executor` the commands of a
 * schedule the server installed run through the host, with the owning
 * server's identity; the agent's tree is not touched (the server reads
 * ./Vendor/Mode back as "off"); the firing and the report carry the host's
 * status (202). A throwing executor makes a failed run with its message.
 * 6.3.4.1.10: with a full queue (`outbox_capacity` 1) the older report is
 * evicted and the server is told how many (`MoReport.evicted`).
 */
fun testAgentHandOff(root: File) {
    DmServer(File(root, "server-handoff"), handOffScript()).use { srv ->
        val host = HostStack()
        val settings = agentSettings(File(root, "agent-handoff")).copy(optionsJson = """{"outbox_capacity": 1}""")
        Agent.open(settings, AGENT_T0, executor = host).use { agent ->
            host.agent = agent
            agent.provision(accountJson(srv.url), srv.caPem, AGENT_T0)
            val install = agent.runSession(SERVER_ID, null, AGENT_T0)
            ok(statusesOf(install, "Add") == listOf(200, 200, 200) && statusesOf(install, "Get") == listOf(200),
                "the session's own commands go to the agent's tree: ${install.statuses}")
            ok(host.runs.isEmpty(), "and not to the host")

            val fired = agent.tick(AGENT_T0 + 5 * MIN)
            ok(fired.size == 1 && fired[0].schedule == "SH" && fired[0].task == "T1" && fired[0].outcome == Outcome.RAN &&
                fired[0].results.map { it.status } == listOf(202), "T1 ran with the host's status: $fired")
            val (ctx, actions) = host.runs.single()
            ok(ctx.owner == SERVER_ID && ctx.schedule == "SH" && ctx.task == "T1", "as the owning server: $ctx")
            ok(actions.contains("\"op\":\"Replace\"") && actions.contains("./Vendor/Mode") && actions.contains("eco"),
                "the scheduled Replace: $actions")
            ok(host.reentry is DmschedException.ReentrantCall, "an executor calling the agent gets ReentrantCall: ${host.reentry}")
            val report = agent.pendingReports(SERVER_ID)
            ok(report.size == 1 && report[0].data.contains("status=\"202\"") && report[0].data.contains("<Outcome>ran</Outcome>"),
                "the report carries the host's status: $report")

            val refused = agent.tick(AGENT_T0 + 10 * MIN)
            ok(refused.size == 1 && refused[0].task == "T2" && refused[0].outcome == Outcome.FAILED &&
                refused[0].reason?.contains("host DM stack busy") == true, "a throwing executor fails the run: $refused")
            val queued = agent.pendingReports(SERVER_ID)
            ok(queued.count { it.evicted == 1L && it.data.contains("reports-evicted") } == 1 &&
                queued.count { it.evicted == 0L && it.data.contains("<Outcome>failed</Outcome>") } == 1 &&
                queued.none { it.data.contains("<Outcome>ran</Outcome>") }, "T1's report was evicted, and that is reported: $queued")

            val second = agent.runSession(SERVER_ID, null, AGENT_T0 + 11 * MIN)
            ok(statusesOf(second, "Add") == listOf(418, 418, 418) && second.alertsDelivered >= 2, "reports delivered: $second")
            ok(agent.pendingReports(SERVER_ID).isEmpty(), "and gone")
            val records = srv.records()
            ok(records.count { it.contains("\"data\":\"off\"") } == 2 && records.none { it.contains("\"data\":\"eco\"") },
                "the agent's tree still says off")
            ok(host.runs.size == 2, "the host ran two tasks: ${host.runs.size}")
        }
    }
}

/** A host's secret store in memory (a Keystore-backed one on a handset). */
class MapSecrets : SecretStore {
    val map = java.util.concurrent.ConcurrentHashMap<String, ByteArray>()
    @Volatile var failing: String? = null
    override fun get(key: String): ByteArray? = map[key]
    override fun put(key: String, value: ByteArray) {
        failing?.let { throw HostException.Failed(it) }
        map[key] = value
    }
    override fun delete(key: String) { map.remove(key) }
    override fun keys(): List<String> = map.keys.toList()
    fun holds(text: String) = map.values.any { it.contentEquals(text.toByteArray()) }
}

/**
 * Issue 14 (secrets), 6.1.1.2.1: with a SecretStore the accounts' passwords
 * and nonces go to the host's store (no `dmsched.db.secrets`), sessions
 * authenticate both ways from it across a reopen; a throwing store fails
 * provisioning with its reason (Storage) and leaves nothing behind; the
 * host's own keys are never touched.
 */
fun testAgentKeepsSecretsInTheHostsStore(root: File) {
    val state = File(root, "agent-secrets")
    val store = MapSecrets()
    store.map["the-hosts-own-key"] = "kept".toByteArray()
    DmServer(File(root, "server-secrets"), installScript()).use { srv ->
        Agent.open(agentSettings(state), AGENT_T0, secrets = store).use { agent ->
            ok(agent.provision(accountJson(srv.url), srv.caPem, AGENT_T0) == SERVER_ID, "provision")
            ok(store.holds("pw") && store.holds("spw"), "both passwords in the host's store")
            ok(!File(state, "dmsched.db.secrets").exists(), "no secret file of its own")
            val s = agent.runSession(SERVER_ID, null, AGENT_T0)
            ok(statusesOf(s, "Add") == listOf(200, 200, 200), "an authenticated session from the store: ${s.statuses}")
            store.failing = "keystore locked"
            val e = expect<DmschedException.Storage>("a throwing store") {
                agent.provision(accountJson(srv.url, serverId = "other"), srv.caPem, AGENT_T0)
            }
            ok(e?.message?.contains("keystore locked") == true, "the store's reason: ${e?.message}")
            store.failing = null
            ok(agent.provision(accountJson(srv.url, serverId = "other"), srv.caPem, AGENT_T0) == "other",
                "nothing of the failed provisioning was left")
        }
        Agent.open(agentSettings(state), AGENT_T0 + MIN, secrets = store).use { agent ->
            val s = agent.runSession(SERVER_ID, null, AGENT_T0 + MIN)
            ok(statusesOf(s, "Add") == listOf(418, 418, 418), "reopened: authenticated again: ${s.statuses}")
        }
    }
    ok(store.map["the-hosts-own-key"]?.contentEquals("kept".toByteArray()) == true, "the host's own key kept")
}

fun agentTests() {
    val root = Files.createTempDirectory("dmsched-agent").toFile()
    try {
        testAgentFullClient(root)
        testAgentDeliversReportsAtOnce(root)
        testAgentHandOff(root)
        testAgentKeepsSecretsInTheHostsStore(root)
    } finally {
        root.deleteRecursively()
    }
}
