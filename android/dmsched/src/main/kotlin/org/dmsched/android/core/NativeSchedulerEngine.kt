// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/**
 * The calls of the JNI class `org.dmsched.jni.NativeEngine` (for system
 * services that cannot use JNA) that [NativeSchedulerEngine] needs. A
 * service wraps its `NativeEngine` in an object implementing this (see
 * android/README.md); keeping the seam here lets the adapter's logic be
 * tested on the host and keeps this module compiling whatever else the JNI
 * class grows.
 */
interface NativeEngineCalls {
    /** Next wake-up (Unix ms), `Long.MIN_VALUE` when none. */
    fun nextWakeup(): Long

    /** Runs what is due; a JSON array of firings. */
    fun tick(nowMs: Long): String

    /** A device event; a JSON array of firings. */
    fun postEvent(name: String, fieldsJson: String?, nowMs: Long): String

    /** `[earliest, latest]` when the JNI class exposes a wake-up window; null: use [nextWakeup]. */
    fun wakeupWindow(): LongArray? = null

    /** A tree change; a JSON array of firings. Override when the JNI class exposes it. */
    fun treeChanged(uri: String, nowMs: Long): String =
        throw UnsupportedOperationException("treeChanged is not exposed by this NativeEngine")

    /** A zone change. Override when the JNI class exposes it. */
    fun setTimeZone(zone: String, nowMs: Long): Unit =
        throw UnsupportedOperationException("setTimeZone is not exposed by this NativeEngine")
}

/** [SchedulerEngine] over the JNI engine; a firing is its JSON object text. */
class NativeSchedulerEngine(private val engine: NativeEngineCalls) : SchedulerEngine<String> {
    override fun wakeupWindow(): WakeupWindow? {
        engine.wakeupWindow()?.let { w ->
            require(w.size == 2) { "wake-up window of ${w.size} values" }
            return WakeupWindow(w[0], w[1])
        }
        val next = engine.nextWakeup()
        return if (next == Long.MIN_VALUE) null else WakeupWindow(next, next)
    }

    override fun tick(nowMs: Long): List<String> = JsonArrays.elements(engine.tick(nowMs))

    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): List<String> =
        JsonArrays.elements(engine.postEvent(name, fieldsJson, nowMs))

    override fun treeChanged(uri: String, nowMs: Long): List<String> = JsonArrays.elements(engine.treeChanged(uri, nowMs))

    override fun setTimeZone(zone: String, nowMs: Long) = engine.setTimeZone(zone, nowMs)
}

/** Splits a JSON array into the texts of its elements (no parser needed on the host). */
object JsonArrays {
    /** The top-level elements of the JSON array [json], each trimmed. Throws on text that is not an array. */
    fun elements(json: String): List<String> {
        val s = json.trim()
        require(s.startsWith("[") && s.endsWith("]")) { "not a JSON array: ${s.take(40)}" }
        val out = ArrayList<String>()
        var depth = 0
        var inString = false
        var escaped = false
        var start = 1
        for (i in 1 until s.length - 1) {
            val c = s[i]
            when {
                inString -> when {
                    escaped -> escaped = false
                    c == '\\' -> escaped = true
                    c == '"' -> inString = false
                }
                c == '"' -> inString = true
                c == '[' || c == '{' -> depth++
                c == ']' || c == '}' -> { depth--; require(depth >= 0) { "unbalanced JSON array" } }
                c == ',' && depth == 0 -> { out += s.substring(start, i).trim(); start = i + 1 }
            }
        }
        require(depth == 0 && !inString) { "unbalanced JSON array" }
        val last = s.substring(start, s.length - 1).trim()
        if (last.isNotEmpty()) out += last else require(out.isEmpty()) { "trailing comma in JSON array" }
        out.forEach { require(it.isNotEmpty()) { "empty element in JSON array" } }
        return out
    }
}
