// The test DM server (samples/dm-server, binary `dm-server`) as a child
// process for the Kotlin and JNI tests of full-client mode: HTTPS on a free
// loopback port with a self-signed test CA, one device account (MD5 both
// ways), a script, and a package #0 written at start.
package org.dmsched.testing

import java.io.File
import java.util.concurrent.TimeUnit

const val DEVICE = "IMEI:990000862471854"
const val SERVER_ID = "dm.example"
const val AGENT_T0 = 1796126400000L // 2026-12-01T12:00:00Z

/** The JSON text of [s] as a JSON string literal. */
fun jsonString(s: String): String = buildString {
    append('"')
    for (c in s) when (c) {
        '"' -> append("\\\"")
        '\\' -> append("\\\\")
        '\n' -> append("\\n")
        else -> append(c)
    }
    append('"')
}

/** S1: hourly from 12:30, reports always; tells the user (a scheduled Alert 1100). */
const val S1 = """{"name": "hourly check", "tasks": [{"id": "T1", "trigger": {"every": {"seconds": 3600, "anchor": "2026-12-01T12:30:00Z"}},
  "actions": [{"op": "Get", "target": "./DevInfo/Man"}, {"op": "Alert", "alert": 1100, "data": "Checked"}], "policy": {"report": "always"}}]}"""
/** S2: on the `boot` event, after the user confirms. */
const val S2 = """{"name": "after boot", "tasks": [{"id": "T1", "trigger": {"event": {"name": "boot"}},
  "actions": [{"op": "Get", "target": "./DevInfo/Mod"}], "policy": {"report": "always", "confirm": true}}]}"""
/** S3: when the device's ./Vendor/Battery drops below 20. */
const val S3 = """{"name": "low battery", "tasks": [{"id": "T1", "trigger": {"becomes_true": "./Vendor/Battery < 20"},
  "actions": [{"op": "Get", "target": "./DevInfo/Man"}], "policy": {"report": "always"}}]}"""

/** SD: hourly from 12:05; each result goes to the server at once. */
const val SD = """{"name": "report at once", "tasks": [{"id": "T1", "trigger": {"every": {"seconds": 3600, "anchor": "2026-12-01T12:05:00Z"}},
  "actions": [{"op": "Get", "target": "./DevInfo/Man"}], "policy": {"report": "always", "report_delivery": "immediate"}}]}"""
/** SH: T1 sets ./Vendor/Mode hourly from 12:05; T2 sets ./Vendor/Other once at 12:10 (the tests' hosts refuse that one). */
const val SH = """{"name": "host runs it", "tasks": [
  {"id": "T1", "trigger": {"every": {"seconds": 3600, "anchor": "2026-12-01T12:05:00Z"}},
   "actions": [{"op": "Replace", "target": "./Vendor/Mode", "data": "eco"}], "policy": {"report": "always"}},
  {"id": "T2", "trigger": {"at": "2026-12-01T12:10:00Z"},
   "actions": [{"op": "Replace", "target": "./Vendor/Other", "data": "x"}], "policy": {"report": "always"}}]}"""

/** The Add of schedule [doc] as `./Scheduling/Schedules/<id>` (a JSON document). */
fun addSchedule(id: String, doc: String) =
    """{"add": {"target": "./Scheduling/Schedules/$id", "data": ${jsonString(doc)}, "type": "application/json"}}"""

/** Every session: installs SD. */
fun deliverScript() = """{"steps": [[${addSchedule("SD", SD)}]]}"""

/** Every session: ./Vendor/Mode made ("off") and SH installed, then ./Vendor/Mode read back. */
fun handOffScript() = """{"steps": [[{"add": {"target": "./Vendor", "format": "node"}},
    {"add": {"target": "./Vendor/Mode", "data": "off"}}, ${addSchedule("SH", SH)}], [{"get": "./Vendor/Mode"}]]}"""

/** Every session: three UI alerts (confirm, text input, multiple choice), the three installs, a Get of S1's state. */
fun installScript(): String {
    fun add(id: String, doc: String) = addSchedule(id, doc)
    return """{"steps": [[
        {"alert": {"code": 1101, "options": "MAXDT=10&DR=1", "texts": ["Install the schedules?"]}},
        {"alert": {"code": 1102, "options": "MAXLEN=8&IT=A&ET=T", "texts": ["Your name?"]}},
        {"alert": {"code": 1104, "options": "DR=1", "texts": ["Pick", "red", "green", "blue"]}},
        ${add("S1", S1)}, ${add("S2", S2)}, ${add("S3", S3)}],
        [{"get": "./Scheduling/Schedules/S1/State"}]]}"""
}

/** The device's account for the server (`provision`'s JSON). */
fun accountJson(url: String, serverId: String = SERVER_ID, secret: String = "pw") = """{"server_id": "$serverId",
  "server_url": "$url", "client": {"auth": "DIGEST", "name": "dev", "secret": "$secret", "nonce": "YzA="},
  "server": {"auth": "DIGEST", "secret": "spw", "nonce": "czA="}}"""

class DmServer(val dir: File, script: String) : AutoCloseable {
    private val process: Process
    /** `https://localhost:<port>/dm`. */
    val url: String
    /** The test CA the server's certificate chains to. */
    val caPem: String
    /** A package #0 (ui-mode background) for [DEVICE], made at start. */
    val pkg0: ByteArray

    init {
        val bin = System.getProperty("dmsched.dmServer") ?: error("-Ddmsched.dmServer=/path/to/dm-server")
        dir.mkdirs()
        File(dir, "accounts.json").writeText("""[{"server_id": "$SERVER_ID", "device_id": "$DEVICE",
            "client_user": "dev", "client_password": "pw", "client_auth": "md5",
            "server_password": "spw", "server_auth": "md5", "client_nonce": "YzA=", "server_nonce": "czA="}]""")
        File(dir, "script.json").writeText(script)
        val err = File(dir, "server.err")
        process = ProcessBuilder(
            bin, "--listen", "127.0.0.1:0",
            "--accounts", File(dir, "accounts.json").path, "--script", File(dir, "script.json").path,
            "--tls-self-signed", File(dir, "pki").path, "--log", File(dir, "records.jsonl").path,
            "--trigger-device", DEVICE, "--trigger-out", File(dir, "pkg0.bin").path,
        ).redirectError(err).start()
        val line = process.inputStream.bufferedReader().readLine()
        if (line == null || !line.startsWith("listening on ")) {
            process.destroy()
            error("dm-server did not start: $line ${err.readText()}")
        }
        url = line.removePrefix("listening on ").trim()
        caPem = File(dir, "pki/ca.pem").readText()
        pkg0 = File(dir, "pkg0.bin").readBytes()
    }

    /** The server's records (JSON lines) so far. */
    fun records(): List<String> = File(dir, "records.jsonl").takeIf { it.exists() }?.readLines() ?: emptyList()

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}
