package org.dmsched.android.platform

import android.app.AlarmManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.os.Build
import org.dmsched.android.core.WakeupAlarm

/**
 * The wake-up as one AlarmManager RTC_WAKEUP alarm delivered to
 * [DmschedAlarmReceiver]. The same PendingIntent is used for every arm, so
 * each arm replaces the previous alarm.
 *
 * Exact alarms need SCHEDULE_EXACT_ALARM (user-grantable, Android 12+) or
 * USE_EXACT_ALARM (Android 13+, restricted to alarm/calendar-like apps by
 * Play policy); [canArmExact] reports whether one is held right now.
 */
class AlarmManagerWakeupAlarm(context: Context, requestCode: Int = REQUEST_CODE) : WakeupAlarm {
    private val app = context.applicationContext
    private val alarmManager = app.getSystemService(AlarmManager::class.java)
    private val operation: PendingIntent = PendingIntent.getBroadcast(
        app,
        requestCode,
        Intent(app, DmschedAlarmReceiver::class.java).setAction(DmschedAlarmReceiver.ACTION_WAKEUP),
        PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
    )

    override fun canArmExact(): Boolean =
        Build.VERSION.SDK_INT < Build.VERSION_CODES.S || alarmManager.canScheduleExactAlarms()

    override fun armExact(atMs: Long) {
        alarmManager.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, atMs, operation)
    }

    override fun armInexact(earliestMs: Long, latestMs: Long) {
        val length = latestMs - earliestMs
        if (length < MIN_WINDOW_MS) {
            // Shorter windows are stretched to 10 min anyway (API 31+); this one also fires in Doze.
            alarmManager.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, earliestMs, operation)
        } else {
            alarmManager.setWindow(AlarmManager.RTC_WAKEUP, earliestMs, length, operation)
        }
    }

    override fun cancel() {
        alarmManager.cancel(operation)
    }

    private companion object {
        const val REQUEST_CODE = 0x646d73 // "dms"
        const val MIN_WINDOW_MS = 10 * 60_000L
    }
}
