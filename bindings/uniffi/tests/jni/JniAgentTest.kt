// Tests of org.dmsched.jni.NativeAgent (full-client mode over JNI) against
// the test DM server as a child process, under -Xcheck:jni: provisioning,
// package #0, sessions, runs offline, reports delivered and dropped, the
// three callbacks (one throwing), error kinds, closed handles, reopening.
// Run from JniTest's main.
package org.dmsched.jni.test

import java.io.File
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import org.dmsched.jni.NativeAgent
import org.dmsched.jni.NativeAuthorizer
import org.dmsched.jni.NativePrompt
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
        val unknown = expectKind("InvalidArgument", "unknown server") { a.runSession("nobody", null, AGENT_T0) }
        ok(unknown?.message?.contains("nobody") == true, "names the server: ${unknown?.message}")
        expectKind("PermissionDenied", "garbage package #0") { a.acceptNotification(ByteArray(3), AGENT_T0) }
        expectKind("InvalidArgument", "bad notification JSON") { a.runSession(SERVER_ID, "{", AGENT_T0) }

        ok(a.provision(accountJson(srv.url), srv.caPem, AGENT_T0) == SERVER_ID, "provision")
        expectKind("AlreadyExists", "provision twice") { a.provision(accountJson(srv.url), srv.caPem, AGENT_T0) }
        val info = a.acceptNotification(srv.pkg0, AGENT_T0)
        ok(info.contains("\"server_id\":\"$SERVER_ID\"") && info.contains("\"ui_mode\":\"background\""), "package #0: $info")
        val replay = expectKind("PermissionDenied", "replayed package #0") { a.acceptNotification(srv.pkg0, AGENT_T0) }
        ok(replay?.message?.contains("replay") == true, "replay: ${replay?.message}")

        val first = a.runSession(SERVER_ID, info, AGENT_T0)
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
        val due = AGENT_T0 + 30 * 60_000L
        ok(a.nextWakeup() == due, "next wake-up: ${a.nextWakeup()}")
        ok(a.pendingReports(SERVER_ID) == "[]", "nothing to report yet")

        val fired = a.tick(due)
        ok(fired.contains("\"schedule\":\"S1\"") && fired.contains("\"outcome\":\"ran\""), "S1 ran: $fired")
        val reports = a.pendingReports(SERVER_ID)
        ok(reports.contains("\"source\":\"./Scheduling/Schedules/S1/Tasks/T1\"") &&
            reports.contains("\"meta_type\":\"org.dmsched.scheduling.result\""), "a report waits: $reports")
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
        expectKind("InvalidArgument", "bad event fields") { a.postEvent("boot", "{", due) }
        a.provision(accountJson("https://127.0.0.1:1/dm", serverId = "offline"), srv.caPem, due)
        expectKind("Protocol", "a server that is not there") { a.runSession("offline", null, due) }

        a.close()
        a.close() // twice is harmless
        expectKind("Closed", "after close") { a.schedules() }
        expectKind("Closed", "nextWakeup after close") { a.nextWakeup() }
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

fun agentJniTests() {
    val root = Files.createTempDirectory("dmsched-jni-agent").toFile()
    try {
        testNativeAgent(root)
    } finally {
        root.deleteRecursively()
    }
}
