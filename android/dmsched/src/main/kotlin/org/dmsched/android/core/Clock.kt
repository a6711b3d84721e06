// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/** Wall-clock time in Unix ms; injected so tests control it. */
fun interface Clock {
    /** Now, in Unix ms. */
    fun nowMs(): Long

    companion object {
        /** The system wall clock (what AlarmManager's RTC_WAKEUP alarms use). */
        val SYSTEM: Clock = Clock { System.currentTimeMillis() }
    }
}

/** Severity of a [Logger] line. */
enum class LogLevel { DEBUG, INFO, WARN, ERROR }

/** Where the facade logs (logcat on Android, see `LogcatLogger`). Never passed secrets. */
fun interface Logger {
    /** Logs [message], with [error] when a call failed. */
    fun log(level: LogLevel, message: String, error: Throwable?)

    companion object {
        /** Discards everything. */
        val NONE: Logger = Logger { _, _, _ -> }
    }
}
