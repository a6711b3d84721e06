package org.dmsched.android.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import org.dmsched.android.core.PlatformEvents

/** The alarm armed by [AlarmManagerWakeupAlarm] went off: tick. */
class DmschedAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != ACTION_WAKEUP) return
        DmschedAndroid.dispatch(this) { it.tick() }
    }

    companion object {
        /** The (explicit, non-exported) action of the wake-up intent. */
        const val ACTION_WAKEUP = "org.dmsched.android.action.WAKEUP"
    }
}

/**
 * Manifest receiver for BOOT_COMPLETED, TIME_SET, TIMEZONE_CHANGED, the SIM
 * state broadcasts and
 * MY_PACKAGE_REPLACED (broadcasts still delivered to manifest receivers on
 * Android 8+), and the runtime receiver for charger and package broadcasts.
 */
class DmschedEventReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val event = PlatformEvents.fromBroadcast(intent.action, extrasOf(intent), intent.dataString) ?: return
        DmschedAndroid.dispatch(this) { it.onPlatformEvent(event) }
    }
}

/** The extras [PlatformEvents.fromBroadcast] reads, typed (a mistyped extra is left out). */
internal fun extrasOf(intent: Intent): Map<String, Any?> {
    val m = HashMap<String, Any?>()
    intent.getStringExtra(PlatformEvents.EXTRA_TIMEZONE)?.let { m[PlatformEvents.EXTRA_TIMEZONE] = it }
    if (intent.hasExtra(PlatformEvents.EXTRA_PLUGGED)) {
        m[PlatformEvents.EXTRA_PLUGGED] = intent.getIntExtra(PlatformEvents.EXTRA_PLUGGED, 0)
    }
    for (key in listOf(PlatformEvents.EXTRA_REPLACING, PlatformEvents.EXTRA_NO_CONNECTIVITY)) {
        if (intent.hasExtra(key)) m[key] = intent.getBooleanExtra(key, false)
    }
    return m
}
