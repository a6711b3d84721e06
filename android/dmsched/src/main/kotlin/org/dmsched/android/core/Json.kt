// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/** The little JSON the facade writes: event fields as flat objects. */
object Json {
    /** [s] as a JSON string literal (RFC 8259 escaping). */
    fun quote(s: String): String {
        val b = StringBuilder(s.length + 2).append('"')
        for (c in s) {
            when (c) {
                '"' -> b.append("\\\"")
                '\\' -> b.append("\\\\")
                '\n' -> b.append("\\n")
                '\r' -> b.append("\\r")
                '\t' -> b.append("\\t")
                '\b' -> b.append("\\b")
                '\u000C' -> b.append("\\f")
                // U+2028/2029 are valid JSON but break JavaScript consumers.
                '\u2028', '\u2029' -> b.append(unicodeEscape(c))
                else -> if (c.code < 0x20) b.append(unicodeEscape(c)) else b.append(c)
            }
        }
        return b.append('"').toString()
    }

    // Not String.format: its output depends on the default locale.
    private fun unicodeEscape(c: Char): String = "\\u" + c.code.toString(16).padStart(4, '0')

    /**
     * A JSON object of [fields] in the given order. Values: null, Boolean,
     * String, Int, Long, finite Double/Float; other types are rejected.
     */
    fun obj(vararg fields: Pair<String, Any?>): String =
        fields.joinToString(",", "{", "}") { (k, v) -> quote(k) + ":" + value(v) }

    private fun value(v: Any?): String = when (v) {
        null -> "null"
        is Boolean -> v.toString()
        is String -> quote(v)
        is Int, is Long, is Short, is Byte -> v.toString()
        is Double -> { require(v.isFinite()) { "JSON has no $v" }; v.toString() }
        is Float -> { require(v.isFinite()) { "JSON has no $v" }; v.toString() }
        else -> throw IllegalArgumentException("not a JSON scalar: ${v::class.simpleName}")
    }
}
