// Tests of org.dmsched.jni.NativeAgent (full-client mode over JNI) against
// the test DM server as a child process, under -Xcheck:jni: provisioning,
// package #0, sessions, runs offline, reports delivered and dropped, the
// three callbacks (one throwing), error kinds, closed handles, reopening;
// reports delivered at once (deliverReports, retried while the server is
// gone) and hand-off mode (a NativeExecutor runs the scheduled commands).
// Run from JniTest's main.
package org.dmsched.jni.test

import java.io.File
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import org.dmsched.jni.NativeAgent
import org.dmsched.jni.DmschedNativeException
import org.dmsched.jni.NativeAuthorizer
import org.dmsched.jni.NativeExecutor
import org.dmsched.jni.NativePrompt
import org.dmsched.jni.NativeSecretStore
import org.dmsched.jni.NativeUserInteraction
import org.dmsched.testing.*

fun settingsJson(dir: File) = """{"state_dir": ${jsonString(dir.path)},
  "device": {"dev_id": "$DEVICE", "man": "dmsched", "model": "jni-test"}, "http_timeout_ms": 10000}"""

fun count(re: String, text: String) = Regex(re).findAll(text).count()

fun testNativeAgent(root: File) {
    val uiRequests = java.util.concurrent.ConcurrentLinkedQueue<String>()
    var uiThrows = false
    val ui = NativeUserInteraction { req ->
        uiRequests.add(req)
        if (uiThrows) throw IllegalStateException("no screen")
        when {
            req.contains("\"type\":\"text_input\"") -> """{"text": "jni"}"""
            req.contains("\"type\":\"multiple_choice\"") -> """{"choices": [2]}"""
            else -> "\"yes\""
        }
    }
    val prompts = AtomicInteger()
    val prompt = NativePrompt { ctx, _ -> prompts.incrementAndGet(); if (ctx.contains("\"schedule\":\"S2\"")) "\"accept\"" else "\"refuse\"" }
    val authorizer = NativeAuthorizer { _, _, _, _ -> throw IllegalStateException("authorizer exploded") }
    val state = File(root, "agent")
    DmServer(File(root, "server"), installScript()).use { srv ->
        val a = NativeAgent.open(settingsJson(state), AGENT_T0, ui, prompt, authorizer)
        val bad = expectKind("InvalidArgument", "account that is not JSON") { a.provision("{not json", null, AGENT_T0) }
        ok(bad?.message?.contains("account") == true, "message: ${bad?.message}")
        val unknown = expectKind("NoAccount", "unknown server") { a.runSession("nobody", null, AGENT_T0) }
        ok(unknown?.message?.contains("nobody") == true, "names the server: ${unknown?.message}")
        expectKind("NotificationRefused", "garbage package #0") { a.acceptNotification(ByteArray(3), AGENT_T0) }

        ok(a.provision(accountJson(srv.url), srv.caPem, AGENT_T0) == SERVER_ID, "provision")
        expectKind("AlreadyExists", "provision twice") { a.provision(accountJson(srv.url), srv.caPem, AGENT_T0) }
        val proof = a.acceptNotification(srv.pkg0, AGENT_T0)
        val info = proof.infoJson
        ok(info.contains("\"server_id\":\"$SERVER_ID\"") && info.contains("\"ui_mode\":\"background\""), "package #0: $info")
        val replay = expectKind("NotificationRefused", "replayed package #0") { a.acceptNotification(srv.pkg0, AGENT_T0) }
        ok(replay?.message?.contains("replay") == true, "replay: ${replay?.message}")

        val first = a.runSession(SERVER_ID, proof, AGENT_T0)
        ok(first.startsWith("{\"server_id\":\"$SERVER_ID\",") && first.contains("\"notification\":{\"server_id\""),
            "the summary names the server and the package #0: $first")
        proof.close()
        proof.close() // twice is harmless
        expectKind("Closed", "a released notification") { a.runSession(SERVER_ID, proof, AGENT_T0) }
        ok(count("\"command\":\"Add\",\"code\":200", first) == 3, "three installs: $first")
        ok(count("\"command\":\"Alert\",\"code\":200", first) == 3, "UI alerts answered: $first")
        val reqs = uiRequests.toList()
        ok(reqs.size == 3 && reqs[0].contains("\"type\":\"confirm\"") && reqs[0].contains("Install the schedules?") &&
            reqs[1].contains("\"max_len\":8") && reqs[2].contains("\"choices\":[\"red\",\"green\",\"blue\"]"),
            "the UI requests as JSON: $reqs")
        ok(a.tick(AGENT_T0) == "[]", "first tick: nothing")
        val schedules = a.schedules()
        ok(count("\"owner\":\"$SERVER_ID\"", schedules) == 3 && count("\"state\":\"active\"", schedules) == 3,
            "three active schedules: $schedules")
        val sid = Regex("\"id\":\"([A-Za-z0-9_.-]+)\",\"state\"").find(schedules)?.groupValues?.get(1) ?: "S1"
        val nothing = expectKind("InvalidArgument", "personalise a schedule without parameters") {
            a.personalize(SERVER_ID, sid, "{}", AGENT_T0)
        }
        ok(nothing?.message?.contains("declares nothing the user may adjust") == true, "says why: ${nothing?.message}")
        val due = AGENT_T0 + 30 * 60_000L
        ok(a.nextWakeup() == due, "next wake-up: ${a.nextWakeup()}")
        val window = a.wakeupWindow()
        ok(window != null && window[0] == due && window[1] >= due, "the wake-up window starts there: ${window?.toList()}")
        ok(a.pendingReports(SERVER_ID) == "[]", "nothing to report yet")

        val fired = a.tick(due)
        ok(fired.contains("\"schedule\":\"S1\"") && fired.contains("\"outcome\":\"ran\""), "S1 ran: $fired")
        // Issue 18, 6.1.7.4: the scheduled Alert reached NativeUserInteraction.
        ok(uiRequests.count { it.contains("\"text\":\"Checked\"") && it.contains("\"type\":\"display\"") } == 1,
            "the scheduled Alert was shown: ${uiRequests.toList()}")
        ok(fired.contains("{\"op\":\"Alert\",\"status\":200}"), "its answer is a result: $fired")
        val reports = a.pendingReports(SERVER_ID)
        ok(reports.contains("\"source\":\"./Scheduling/Schedules/S1/Tasks/T1\"") &&
            reports.contains("\"meta_type\":\"org.dmsched.scheduling.result\""), "a report waits: $reports")
        ok(Regex("\"report_id\":\"[0-9a-f]{32}\"").containsMatchIn(reports) &&
            reports.contains("\"created_ms\":$due") && reports.contains("\"data\":\"<Result><ReportID>"),
            "the report's identity: $reports")
        val booted = a.postEvent("boot", null, due + 60_000)
        ok(booted.contains("\"schedule\":\"S2\"") && booted.contains("\"outcome\":\"ran\"") && prompts.get() == 1,
            "the prompt accepted S2: $booted")
        ok(a.setValue("./Vendor/Battery", "50", due + 90_000) == "[]", "50: nothing")
        val low = a.setValue("./Vendor/Battery", "10", due + 120_000)
        ok(low.contains("\"schedule\":\"S3\""), "the tree value ran S3: $low")
        ok(count("\"owner\":\"$SERVER_ID\"", a.pendingReports(SERVER_ID)) == 3, "three reports wait")

        uiThrows = true
        val second = a.runSession(SERVER_ID, null, due + 180_000)
        ok(count("\"command\":\"Alert\",\"code\":416", second) == 3, "a throwing UI answers 416: $second")
        ok(count("\"command\":\"Add\",\"code\":418", second) == 3, "installing again: 418: $second")
        ok(Regex("\"alerts_delivered\":(\\d+)").find(second)?.groupValues?.get(1)?.toInt()?.let { it >= 3 } == true,
            "reports delivered: $second")
        ok(a.pendingReports(SERVER_ID) == "[]", "acknowledged reports are gone")

        expectKind("InvalidArgument", "bad value JSON") { a.setValue("./Vendor/Battery", "ten", due) }
        expectKind("InvalidArgument", "bad URI") { a.setValue("/Vendor", "1", due) }
        a.setTimeZone("Asia/Tokyo", due)
        expectKind("InvalidArgument", "an unknown zone") { a.setTimeZone("Mars/Olympus", due) }
        expectKind("InvalidArgument", "bad event fields") { a.postEvent("boot", "{", due) }
        a.provision(accountJson("https://127.0.0.1:1/dm", serverId = "offline"), srv.caPem, due)
        expectKind("Transport", "a server that is not there") { a.runSession("offline", null, due) }

        a.close()
        a.close() // twice is harmless
        expectKind("Closed", "after close") { a.schedules() }
        expectKind("Closed", "nextWakeup after close") { a.nextWakeup() }
        expectKind("Closed", "wakeupWindow after close") { a.wakeupWindow() }
        NativeAgent.open(settingsJson(state), due, null, null, null).use { again ->
            ok(count("\"owner\":\"$SERVER_ID\"", again.schedules()) == 3, "schedules survive a reopen")
            val errors = AtomicInteger()
            val threads = (0 until 4).map { t ->
                Thread {
                    try {
                        for (k in 0 until 10) {
                            again.tick(due + k * 1000L)
                            again.nextWakeup()
                            if (count("\"owner\":", again.schedules()) != 3) errors.incrementAndGet()
                            again.pendingReports(SERVER_ID)
                        }
                    } catch (x: Throwable) {
                        System.err.println("thread $t: $x"); errors.incrementAndGet()
                    }
                }
            }
            threads.forEach { it.start() }
            threads.forEach { it.join() }
            ok(errors.get() == 0, "no errors from 4 threads")
        }
    }
    expectKind("InvalidArgument", "settings without a device") {
        NativeAgent.open("""{"state_dir": ${jsonString(File(root, "x").path)}}""", AGENT_T0, null, null, null)
    }
    expectKind("InvalidArgument", "bad engine options") {
        NativeAgent.open("""{"state_dir": ${jsonString(File(root, "y").path)}, "device": {"dev_id": "d"}, "options": {"nope": 1}}""",
            AGENT_T0, null, null, null)
    }
}

/**
 * 6.3.4.1.10: a task with `"report_delivery": "immediate"`: `deliverReports`
 * opens a session that delivers its result (the server gets the Generic
 * Alert 1226 with the Meta Type of `settings.mo`), a second call has nothing
 * to do; with the server gone the attempt fails and is put off by
 * `settings.report_retry`, which `nextWakeup` includes.
 */
fun testNativeAgentDeliversReportsAtOnce(root: File) {
    val min = 60_000L
    DmServer(File(root, "server-deliver"), deliverScript()).use { srv ->
        val settings = """{"state_dir": ${jsonString(File(root, "agent-deliver").path)}, "device": {"dev_id": "$DEVICE"},
            "http_timeout_ms": 10000, "mo": {"report_type": "com.example.sched.result"},
            "report_retry": {"first_seconds": 10, "max_seconds": 15}}"""
        NativeAgent.open(settings, AGENT_T0, null, null, null).use { a ->
            a.provision(accountJson(srv.url), srv.caPem, AGENT_T0)
            ok(a.reportsToDeliver() == "[]" && a.deliverReports(AGENT_T0) == "[]", "nothing to deliver yet")
            val install = a.runSession(SERVER_ID, null, AGENT_T0)
            ok(count("\"command\":\"Add\",\"code\":200", install) == 1, "the server installs SD: $install")
            val at = AGENT_T0 + 5 * min
            val fired = a.tick(at)
            ok(fired.contains("\"schedule\":\"SD\"") && fired.contains("\"outcome\":\"ran\""), "SD ran: $fired")
            ok(a.reportsToDeliver() == "[\"$SERVER_ID\"]", "its report is due at once: ${a.reportsToDeliver()}")
            ok(a.nextWakeup() == at, "so the next wake-up is now: ${a.nextWakeup()}")
            val pending = a.pendingReports(SERVER_ID)
            ok(pending.contains("\"meta_type\":\"com.example.sched.result\"") && pending.contains("\"evicted\":0"),
                "the report has the configured Meta Type: $pending")

            val done = a.deliverReports(at + min)
            ok(count("\"server_id\":", done) == 1 && done.contains("\"server_id\":\"$SERVER_ID\"") &&
                done.contains("\"error\":null") && done.contains("\"retry_at_ms\":null") && done.contains("\"attempts\":0") &&
                !done.contains("\"delivered\":0"), "delivered in a session of its own: $done")
            val alerts = srv.records().count { it.contains("\"meta_type\":\"com.example.sched.result\"") }
            ok(alerts == 1, "the server got the Generic Alert once: $alerts")
            ok(a.deliverReports(at + min) == "[]" && a.reportsToDeliver() == "[]", "a second call has nothing to do")
            ok(a.nextWakeup() == at + 60 * min, "the next wake-up is SD's next run: ${a.nextWakeup()}")

            srv.close()
            a.tick(at + 60 * min)
            val t = at + 61 * min
            val failed = a.deliverReports(t)
            ok(failed.contains("\"attempts\":1") && failed.contains("\"delivered\":0") &&
                failed.contains("\"retry_at_ms\":${t + 10_000}") && Regex("\"error\":\"[^\"]+").containsMatchIn(failed),
                "a failed delivery, retried after 10 s: $failed")
            ok(a.nextWakeup() == t + 10_000, "nextWakeup includes the retry: ${a.nextWakeup()}")
            ok(a.deliverReports(t + 5_000) == "[]", "not before its time")
            ok(a.deliverReports(t + 10_000).contains("\"retry_at_ms\":${t + 25_000}"), "then after 15 s (the maximum)")
        }
    }
    expectKind("InvalidArgument", "an unknown report_retry key") {
        NativeAgent.open("""{"state_dir": ${jsonString(File(root, "z").path)}, "device": {"dev_id": "d"},
            "report_retry": {"first": 1, "max_seconds": 2}}""", AGENT_T0, null, null, null)
    }
    expectKind("InvalidArgument", "an unknown mo key") {
        NativeAgent.open("""{"state_dir": ${jsonString(File(root, "z").path)}, "device": {"dev_id": "d"},
            "mo": {"rooot": "./S"}}""", AGENT_T0, null, null, null)
    }
}

/**
 * 6.1.7.4, 6.1.7.6: hand-off mode. With a [NativeExecutor] the commands of a
 * schedule the server installed run through the host, with the owning
 * server in the context; the agent's tree is not touched (the server reads
 * ./Vendor/Mode back as "off"); the firing and the report carry the host's
 * status (202). A throwing executor makes a failed run with its message.
 * 6.3.4.1.10: with `outbox_capacity` 1 the older report is evicted and the
 * server told (`"evicted": 1`).
 */
fun testNativeAgentHandOff(root: File) {
    val min = 60_000L
    DmServer(File(root, "server-handoff"), handOffScript()).use { srv ->
        val contexts = java.util.concurrent.ConcurrentLinkedQueue<String>()
        val actions = java.util.concurrent.ConcurrentLinkedQueue<String>()
        var self: NativeAgent? = null
        var reentry: String? = null
        val executor = NativeExecutor { ctx, acts ->
            contexts.add(ctx)
            actions.add(acts)
            try { self?.schedules() } catch (e: DmschedNativeException) { reentry = e.kind }
            if (acts.contains("./Vendor/Other")) throw IllegalStateException("host DM stack busy")
            """[{"op": "Replace", "target": "./Vendor/Mode", "status": 202}]"""
        }
        val settings = """{"state_dir": ${jsonString(File(root, "agent-handoff").path)}, "device": {"dev_id": "$DEVICE"},
            "http_timeout_ms": 10000, "options": {"outbox_capacity": 1}}"""
        NativeAgent.open(settings, AGENT_T0, null, null, null, executor).use { a ->
            self = a
            a.provision(accountJson(srv.url), srv.caPem, AGENT_T0)
            val install = a.runSession(SERVER_ID, null, AGENT_T0)
            ok(count("\"command\":\"Add\",\"code\":200", install) == 3 && contexts.isEmpty(),
                "the session's own commands go to the agent's tree: $install")

            val fired = a.tick(AGENT_T0 + 5 * min)
            ok(fired.contains("\"task\":\"T1\"") && fired.contains("\"outcome\":\"ran\"") && fired.contains("\"status\":202"),
                "T1 ran with the host's status: $fired")
            ok(contexts.size == 1 && contexts.first().contains("\"owner\":\"$SERVER_ID\"") &&
                contexts.first().contains("\"schedule\":\"SH\""), "as the owning server: $contexts")
            ok(actions.first().contains("\"op\":\"Replace\"") && actions.first().contains("./Vendor/Mode") &&
                actions.first().contains("eco"), "the scheduled Replace: $actions")
            ok(reentry == "ReentrantCall", "an executor calling the agent gets ReentrantCall: $reentry")
            val report = a.pendingReports(SERVER_ID)
            ok(report.contains("status=\\\"202\\\"") && report.contains("<Outcome>ran</Outcome>"), "the report has the host's status: $report")

            val refused = a.tick(AGENT_T0 + 10 * min)
            ok(refused.contains("\"task\":\"T2\"") && refused.contains("\"outcome\":\"failed\"") &&
                refused.contains("host DM stack busy"), "a throwing executor fails the run: $refused")
            val queued = a.pendingReports(SERVER_ID)
            ok(queued.contains("\"evicted\":1") && queued.contains("reports-evicted") && !queued.contains("<Outcome>ran</Outcome>"),
                "T1's report was evicted, and that is reported: $queued")

            val second = a.runSession(SERVER_ID, null, AGENT_T0 + 11 * min)
            ok(count("\"command\":\"Add\",\"code\":418", second) == 3 && !second.contains("\"alerts_delivered\":0"),
                "reports delivered: $second")
            ok(a.pendingReports(SERVER_ID) == "[]", "and gone")
            val records = srv.records()
            ok(records.count { it.contains("\"data\":\"off\"") } == 2 && records.none { it.contains("\"data\":\"eco\"") },
                "the agent's tree still says off")
        }
    }
}

/** A host's secret store in memory (a Keystore-backed one on a handset). */
class MapSecrets : NativeSecretStore {
    val map = java.util.concurrent.ConcurrentHashMap<String, ByteArray>()
    @Volatile var failing: String? = null
    override fun get(key: String): ByteArray? = map[key]
    override fun put(key: String, value: ByteArray) {
        failing?.let { throw IllegalStateException(it) }
        map[key] = value
    }
    override fun delete(key: String) { map.remove(key) }
    override fun keys(): Array<String> = map.keys.toTypedArray()
    fun holds(text: String) = map.values.any { it.contentEquals(text.toByteArray()) }
}

/**
 * Issue 14 (secrets), 6.1.1.2.1: with a NativeSecretStore the accounts'
 * passwords and nonces go to the host's store (no `dmsched.db.secrets`), the
 * session authenticates both ways from it, across a reopen; a store that
 * throws fails provisioning with its reason and leaves nothing behind; the
 * host's own keys are never touched.
 */
fun testNativeAgentKeepsSecretsInTheHostsStore(root: File) {
    val state = File(root, "secrets")
    val store = MapSecrets()
    store.map["the-hosts-own-key"] = "kept".toByteArray()
    DmServer(File(root, "secrets-server"), installScript()).use { srv ->
        NativeAgent.open(settingsJson(state), AGENT_T0, null, null, null, null, store).use { a ->
            ok(a.provision(accountJson(srv.url), srv.caPem, AGENT_T0) == SERVER_ID, "provision")
            ok(store.holds("pw") && store.holds("spw"), "both passwords in the host's store")
            ok(!File(state, "dmsched.db.secrets").exists(), "no secret file of its own")
            val s = a.runSession(SERVER_ID, null, AGENT_T0)
            ok(count("\"command\":\"Add\",\"code\":200", s) == 3, "authenticated session from the store: $s")
            store.failing = "keystore locked"
            val e = expectKind("Storage", "a throwing store") {
                a.provision(accountJson(srv.url, serverId = "other"), srv.caPem, AGENT_T0)
            }
            ok(e?.message?.contains("keystore locked") == true, "the store's reason: ${e?.message}")
            store.failing = null
            ok(!a.schedules().contains("other") && a.provision(accountJson(srv.url, serverId = "other"), srv.caPem, AGENT_T0) == "other",
                "nothing of the failed provisioning was left")
        }
        NativeAgent.open(settingsJson(state), AGENT_T0 + 60_000, null, null, null, null, store).use { a ->
            val s = a.runSession(SERVER_ID, null, AGENT_T0 + 60_000)
            ok(count("\"command\":\"Add\",\"code\":418", s) == 3, "reopened: authenticated again: $s")
        }
    }
    ok(store.map["the-hosts-own-key"]?.contentEquals("kept".toByteArray()) == true, "the host's own key kept")
}

fun agentJniTests() {
    val root = Files.createTempDirectory("dmsched-jni-agent").toFile()
    try {
        testNativeAgent(root)
        testNativeAgentDeliversReportsAtOnce(root)
        testNativeAgentHandOff(root)
        testNativeAgentKeepsSecretsInTheHostsStore(root)
    } finally {
        root.deleteRecursively()
    }
}
