package org.dmsched.android.platform

import android.util.Log
import org.dmsched.android.core.LogLevel
import org.dmsched.android.core.Logger

/** Logs the facade to logcat under [tag] (`adb logcat -s dmsched`); DEBUG lines only when `Log.isLoggable(tag, DEBUG)`. */
class LogcatLogger(private val tag: String = "dmsched") : Logger {
    override fun log(level: LogLevel, message: String, error: Throwable?) {
        when (level) {
            LogLevel.DEBUG -> if (Log.isLoggable(tag, Log.DEBUG)) Log.d(tag, message, error)
            LogLevel.INFO -> Log.i(tag, message, error)
            LogLevel.WARN -> Log.w(tag, message, error)
            LogLevel.ERROR -> Log.e(tag, message, error)
        }
    }
}
