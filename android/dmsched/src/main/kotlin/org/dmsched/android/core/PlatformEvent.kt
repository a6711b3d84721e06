// Pure Kotlin: no android.* imports (compiled and tested on the host JVM).
package org.dmsched.android.core

/**
 * Something the device did that the engine should hear about. Built from a
 * broadcast by [PlatformEvents.fromBroadcast], from ConnectivityManager
 * callbacks by `NetworkMonitor`, or by the app itself.
 */
sealed interface PlatformEvent {
    /** The device booted: the engine catches up on missed runs and sees `boot`. */
    data object Boot : PlatformEvent

    /** The wall clock was set: a tick (the engine detects the jump), then engine event `time_set`. */
    data object TimeSet : PlatformEvent

    /** This app was updated (its alarms may be gone): tick and re-arm. */
    data object PackageReplaced : PlatformEvent

    /**
     * The time zone changed to [zoneId] (null: the broadcast did not say; the
     * scheduler asks its zone provider): the engine's zone, a tick, then engine
     * event `timezone_changed` with `zone`.
     */
    data class TimeZoneChanged(val zoneId: String?) : PlatformEvent

    /** Connectivity: engine event `network` with `connected`, `type` (`none` when down), `metered`. */
    data class Network(val connected: Boolean, val type: String?, val metered: Boolean?) : PlatformEvent

    /** The SIM changed ([state]: ABSENT, READY, LOADED, … as the broadcast says; [slot] when known): engine event `sim_change`. */
    data class SimChanged(val state: String?, val slot: Int?) : PlatformEvent

    /** External power: engine event `charger` with `plugged` and `source` (ac, usb, wireless, dock). */
    data class Charger(val plugged: Boolean, val source: String?) : PlatformEvent

    /** A package was installed: engine event `app_installed` with `package` and `replacing`. */
    data class AppInstalled(val packageName: String, val replacing: Boolean) : PlatformEvent

    /** Any other engine event (e.g. `sim_change` or a host-defined name). */
    data class Custom(val name: String, val fieldsJson: String?) : PlatformEvent
}

/** The engine event a [PlatformEvent] becomes, if it is one. */
data class EngineEvent(val name: String, val fieldsJson: String?)

/** Mapping from Android broadcasts and network state to [PlatformEvent]s and engine events. */
object PlatformEvents {
    // The Intent action and extra strings (the values of the android.content.Intent constants).
    const val ACTION_BOOT_COMPLETED = "android.intent.action.BOOT_COMPLETED"
    const val ACTION_TIME_SET = "android.intent.action.TIME_SET"
    const val ACTION_TIMEZONE_CHANGED = "android.intent.action.TIMEZONE_CHANGED"
    const val ACTION_MY_PACKAGE_REPLACED = "android.intent.action.MY_PACKAGE_REPLACED"
    const val ACTION_POWER_CONNECTED = "android.intent.action.ACTION_POWER_CONNECTED"
    const val ACTION_POWER_DISCONNECTED = "android.intent.action.ACTION_POWER_DISCONNECTED"
    const val ACTION_BATTERY_CHANGED = "android.intent.action.BATTERY_CHANGED"
    const val ACTION_PACKAGE_ADDED = "android.intent.action.PACKAGE_ADDED"
    const val ACTION_CONNECTIVITY_CHANGE = "android.net.conn.CONNECTIVITY_CHANGE"
    // The SIM: the legacy (system) broadcast and TelephonyManager.ACTION_SIM_CARD_STATE_CHANGED (API 28, privileged).
    const val ACTION_SIM_STATE_CHANGED = "android.intent.action.SIM_STATE_CHANGED"
    const val ACTION_SIM_CARD_STATE_CHANGED = "android.telephony.action.SIM_CARD_STATE_CHANGED"
    const val EXTRA_SIM_STATE = "ss"
    const val EXTRA_SIM_CARD_STATE = "android.telephony.extra.SIM_STATE"
    const val EXTRA_SLOT_INDEX = "android.telephony.extra.SLOT_INDEX"
    const val EXTRA_TIMEZONE = "time-zone"
    const val EXTRA_PLUGGED = "plugged"
    const val EXTRA_REPLACING = "android.intent.extra.REPLACING"
    const val EXTRA_NO_CONNECTIVITY = "noConnectivity"

    // BatteryManager.BATTERY_PLUGGED_* values.
    private const val PLUGGED_AC = 1
    private const val PLUGGED_USB = 2
    private const val PLUGGED_WIRELESS = 4
    private const val PLUGGED_DOCK = 8

    /** Every broadcast action [fromBroadcast] understands. */
    val ACTIONS: List<String> = listOf(
        ACTION_BOOT_COMPLETED, ACTION_TIME_SET, ACTION_TIMEZONE_CHANGED, ACTION_MY_PACKAGE_REPLACED,
        ACTION_POWER_CONNECTED, ACTION_POWER_DISCONNECTED, ACTION_BATTERY_CHANGED, ACTION_PACKAGE_ADDED,
        ACTION_CONNECTIVITY_CHANGE, ACTION_SIM_STATE_CHANGED, ACTION_SIM_CARD_STATE_CHANGED,
    )

    /**
     * The event for a broadcast: its [action], its [extras] (the Intent's
     * Bundle as a map; absent or mistyped extras are tolerated) and its
     * [data] URI string (`package:NAME` for package broadcasts). Null for
     * actions that mean nothing to the engine.
     */
    fun fromBroadcast(action: String?, extras: Map<String, Any?> = emptyMap(), data: String? = null): PlatformEvent? =
        when (action) {
            ACTION_BOOT_COMPLETED -> PlatformEvent.Boot
            ACTION_TIME_SET -> PlatformEvent.TimeSet
            ACTION_MY_PACKAGE_REPLACED -> PlatformEvent.PackageReplaced
            ACTION_TIMEZONE_CHANGED ->
                PlatformEvent.TimeZoneChanged((extras[EXTRA_TIMEZONE] as? String)?.trim()?.takeIf { it.isNotEmpty() })
            // POWER_* extras carry nothing; the source comes with BATTERY_CHANGED.
            ACTION_POWER_CONNECTED -> PlatformEvent.Charger(plugged = true, source = null)
            ACTION_POWER_DISCONNECTED -> PlatformEvent.Charger(plugged = false, source = null)
            ACTION_BATTERY_CHANGED -> when (val p = extras[EXTRA_PLUGGED]) {
                is Int -> PlatformEvent.Charger(plugged = p != 0, source = plugSource(p))
                else -> null // no plug state: nothing to say
            }
            ACTION_PACKAGE_ADDED -> packageName(data)
                ?.let { PlatformEvent.AppInstalled(it, extras[EXTRA_REPLACING] as? Boolean ?: false) }
            // The legacy broadcast says only whether some network is up.
            ACTION_CONNECTIVITY_CHANGE ->
                PlatformEvent.Network(connected = extras[EXTRA_NO_CONNECTIVITY] as? Boolean != true, type = null, metered = null)
            ACTION_SIM_STATE_CHANGED -> PlatformEvent.SimChanged(
                (extras[EXTRA_SIM_STATE] as? String)?.trim()?.takeIf { it.isNotEmpty() },
                extras[EXTRA_SLOT_INDEX] as? Int ?: extras["slot"] as? Int,
            )
            ACTION_SIM_CARD_STATE_CHANGED -> PlatformEvent.SimChanged(
                simCardState(extras[EXTRA_SIM_CARD_STATE] as? Int),
                extras[EXTRA_SLOT_INDEX] as? Int,
            )
            else -> null
        }

    // TelephonyManager.SIM_STATE_* values of ACTION_SIM_CARD_STATE_CHANGED.
    private fun simCardState(v: Int?): String? = when (v) {
        1 -> "ABSENT"
        2 -> "PIN_REQUIRED"
        3 -> "PUK_REQUIRED"
        4 -> "NETWORK_LOCKED"
        5 -> "READY"
        6 -> "NOT_READY"
        7 -> "PERM_DISABLED"
        8 -> "CARD_IO_ERROR"
        9 -> "CARD_RESTRICTED"
        10 -> "LOADED"
        11 -> "PRESENT"
        else -> null
    }

    private fun packageName(data: String?): String? =
        data?.takeIf { it.startsWith("package:") }?.substring("package:".length)?.takeIf { it.isNotEmpty() }

    private fun plugSource(plugged: Int): String? = when {
        plugged and PLUGGED_AC != 0 -> "ac"
        plugged and PLUGGED_USB != 0 -> "usb"
        plugged and PLUGGED_WIRELESS != 0 -> "wireless"
        plugged and PLUGGED_DOCK != 0 -> "dock"
        else -> null
    }

    /** Transport names by preference, for [network] (names of NetworkCapabilities.TRANSPORT_*). */
    val TRANSPORT_PREFERENCE: List<String> =
        listOf("ethernet", "wifi", "cellular", "satellite", "bluetooth", "usb", "thread", "lowpan", "wifi_aware", "vpn")

    /**
     * The `network` event for the default network: [transports] are its
     * transport names (empty or null when there is no network); a VPN
     * reports the transport under it when known.
     */
    fun network(transports: Collection<String>?, validatedInternet: Boolean, notMetered: Boolean): PlatformEvent.Network {
        if (transports.isNullOrEmpty() || !validatedInternet) return PlatformEvent.Network(false, null, null)
        val type = TRANSPORT_PREFERENCE.firstOrNull { it in transports } ?: transports.sorted().first()
        return PlatformEvent.Network(true, type, !notMetered)
    }

    /**
     * The engine event for [event] (the event catalogue of
     * docs/schedule-format.md), or null when it is not one (an app update:
     * [DmScheduler] only ticks). [DmScheduler] posts `boot`, `time_set` and
     * `timezone_changed` after its tick (and zone change).
     */
    fun engineEvent(event: PlatformEvent): EngineEvent? = when (event) {
        PlatformEvent.Boot -> EngineEvent("boot", null)
        PlatformEvent.TimeSet -> EngineEvent("time_set", null)
        is PlatformEvent.TimeZoneChanged -> EngineEvent("timezone_changed", fields("zone" to event.zoneId))
        PlatformEvent.PackageReplaced -> null
        is PlatformEvent.Network -> EngineEvent(
            "network",
            fields(
                "connected" to event.connected,
                "type" to (event.type ?: if (event.connected) null else "none"),
                "metered" to event.metered,
            ),
        )
        is PlatformEvent.SimChanged -> EngineEvent("sim_change", fields("state" to event.state, "slot" to event.slot))
        is PlatformEvent.Charger -> EngineEvent("charger", fields("plugged" to event.plugged, "source" to event.source))
        is PlatformEvent.AppInstalled ->
            EngineEvent("app_installed", fields("package" to event.packageName, "replacing" to event.replacing))
        is PlatformEvent.Custom -> EngineEvent(event.name, event.fieldsJson)
    }

    // Unknown values are left out rather than sent as null.
    private fun fields(vararg pairs: Pair<String, Any?>): String = Json.obj(*pairs.filter { it.second != null }.toTypedArray())
}
