// Broadcast → PlatformEvent → engine call, for every action the receivers
// handle, including missing and mistyped extras.
package org.dmsched.android.core

import org.dmsched.android.core.PlatformEvents as P

fun broadcastMappingTests() {
    eq(P.fromBroadcast(P.ACTION_BOOT_COMPLETED), PlatformEvent.Boot, "BOOT_COMPLETED")
    eq(P.fromBroadcast(P.ACTION_TIME_SET), PlatformEvent.TimeSet, "TIME_SET")
    eq(P.fromBroadcast(P.ACTION_MY_PACKAGE_REPLACED), PlatformEvent.PackageReplaced, "MY_PACKAGE_REPLACED")
    eq(
        P.fromBroadcast(P.ACTION_TIMEZONE_CHANGED, mapOf("time-zone" to "Europe/Berlin")),
        PlatformEvent.TimeZoneChanged("Europe/Berlin"),
        "TIMEZONE_CHANGED with its zone",
    )
    eq(P.fromBroadcast(P.ACTION_TIMEZONE_CHANGED), PlatformEvent.TimeZoneChanged(null), "TIMEZONE_CHANGED without extras")
    eq(P.fromBroadcast(P.ACTION_TIMEZONE_CHANGED, mapOf("time-zone" to "  ")), PlatformEvent.TimeZoneChanged(null), "blank zone")
    eq(P.fromBroadcast(P.ACTION_TIMEZONE_CHANGED, mapOf("time-zone" to 42)), PlatformEvent.TimeZoneChanged(null), "mistyped zone")
    eq(P.fromBroadcast(P.ACTION_POWER_CONNECTED), PlatformEvent.Charger(true, null), "POWER_CONNECTED")
    eq(P.fromBroadcast(P.ACTION_POWER_DISCONNECTED), PlatformEvent.Charger(false, null), "POWER_DISCONNECTED")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to 2)), PlatformEvent.Charger(true, "usb"), "BATTERY_CHANGED on USB")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to 1)), PlatformEvent.Charger(true, "ac"), "on AC")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to 4)), PlatformEvent.Charger(true, "wireless"), "wireless")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to 64)), PlatformEvent.Charger(true, null), "unknown source")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to 0)), PlatformEvent.Charger(false, null), "on battery")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("level" to 50)), null, "BATTERY_CHANGED without plug state")
    eq(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to "2")), null, "mistyped plug state")
    eq(
        P.fromBroadcast(P.ACTION_PACKAGE_ADDED, mapOf(P.EXTRA_REPLACING to true), "package:com.example.app"),
        PlatformEvent.AppInstalled("com.example.app", true),
        "PACKAGE_ADDED (update)",
    )
    eq(
        P.fromBroadcast(P.ACTION_PACKAGE_ADDED, emptyMap(), "package:com.example.app"),
        PlatformEvent.AppInstalled("com.example.app", false),
        "PACKAGE_ADDED without REPLACING",
    )
    eq(P.fromBroadcast(P.ACTION_PACKAGE_ADDED), null, "PACKAGE_ADDED without data")
    eq(P.fromBroadcast(P.ACTION_PACKAGE_ADDED, emptyMap(), "package:"), null, "PACKAGE_ADDED with an empty name")
    eq(P.fromBroadcast(P.ACTION_PACKAGE_ADDED, emptyMap(), "file:/x"), null, "PACKAGE_ADDED with another scheme")
    eq(
        P.fromBroadcast(P.ACTION_CONNECTIVITY_CHANGE, mapOf("noConnectivity" to true)),
        PlatformEvent.Network(false, null, null),
        "legacy CONNECTIVITY_CHANGE: down",
    )
    eq(P.fromBroadcast(P.ACTION_CONNECTIVITY_CHANGE), PlatformEvent.Network(true, null, null), "CONNECTIVITY_CHANGE: up")
    eq(P.fromBroadcast("android.intent.action.SCREEN_ON"), null, "unrelated action")
    eq(P.fromBroadcast(null), null, "no action")
    ok(P.ACTIONS.all { P.fromBroadcast(it, mapOf("plugged" to 1), "package:p") != null }, "every listed action maps")

    eq(P.network(setOf("wifi"), true, true), PlatformEvent.Network(true, "wifi", false), "unmetered Wi-Fi")
    eq(P.network(setOf("cellular"), true, false), PlatformEvent.Network(true, "cellular", true), "metered cellular")
    eq(P.network(setOf("vpn", "wifi"), true, true).type, "wifi", "a VPN reports the transport under it")
    eq(P.network(setOf("vpn"), true, true).type, "vpn", "a VPN alone")
    eq(P.network(setOf("ethernet", "wifi"), true, true).type, "ethernet", "ethernet preferred")
    eq(P.network(setOf("zz-new", "aa-new"), true, false).type, "aa-new", "unknown transports: a stable pick")
    eq(P.network(setOf("wifi"), false, true), PlatformEvent.Network(false, null, null), "no validated internet: down")
    eq(P.network(emptySet(), true, true), PlatformEvent.Network(false, null, null), "no transports: down")
    eq(P.network(null, true, true), PlatformEvent.Network(false, null, null), "no network")

    eq(
        P.engineEvent(PlatformEvent.Network(true, "wifi", false)),
        EngineEvent("network", "{\"connected\":true,\"type\":\"wifi\",\"metered\":false}"),
        "network fields",
    )
    eq(P.engineEvent(PlatformEvent.Network(false, null, null)), EngineEvent("network", "{\"connected\":false,\"type\":\"none\"}"), "down: type none, unknowns left out")
    eq(P.engineEvent(PlatformEvent.Charger(true, "ac")), EngineEvent("charger", "{\"plugged\":true,\"source\":\"ac\"}"), "charger fields")
    eq(P.engineEvent(PlatformEvent.Charger(false, null)), EngineEvent("charger", "{\"plugged\":false}"), "unplugged")
    eq(
        P.engineEvent(PlatformEvent.AppInstalled("odd\"pkg\\", false)),
        EngineEvent("app_installed", "{\"package\":\"odd\\\"pkg\\\\\",\"replacing\":false}"),
        "app_installed, escaped",
    )
    eq(P.engineEvent(PlatformEvent.Boot), EngineEvent("boot", null), "boot")
    eq(P.engineEvent(PlatformEvent.Custom("sim_change", "{\"slot\":1}")), EngineEvent("sim_change", "{\"slot\":1}"), "custom")
    // Issue 15: every platform event of the catalogue reaches the engine.
    eq(P.engineEvent(PlatformEvent.TimeSet), EngineEvent("time_set", null), "clock set: time_set")
    eq(P.engineEvent(PlatformEvent.TimeZoneChanged("UTC")), EngineEvent("timezone_changed", "{\"zone\":\"UTC\"}"), "zone change: timezone_changed")
    eq(P.engineEvent(PlatformEvent.PackageReplaced), null, "an app update is not an engine event")
    eq(P.engineEvent(PlatformEvent.SimChanged("LOADED", 1)), EngineEvent("sim_change", "{\"state\":\"LOADED\",\"slot\":1}"), "sim_change")
    eq(P.engineEvent(PlatformEvent.SimChanged(null, null)), EngineEvent("sim_change", "{}"), "sim_change, nothing known")
    eq(P.fromBroadcast(P.ACTION_SIM_STATE_CHANGED, mapOf("ss" to "ABSENT", "android.telephony.extra.SLOT_INDEX" to 0)),
        PlatformEvent.SimChanged("ABSENT", 0), "SIM_STATE_CHANGED")
    eq(P.fromBroadcast(P.ACTION_SIM_STATE_CHANGED, mapOf("ss" to 3)), PlatformEvent.SimChanged(null, null), "mistyped SIM state")
    eq(P.fromBroadcast(P.ACTION_SIM_CARD_STATE_CHANGED, mapOf("android.telephony.extra.SIM_STATE" to 10,
        "android.telephony.extra.SLOT_INDEX" to 1)), PlatformEvent.SimChanged("LOADED", 1), "SIM_CARD_STATE_CHANGED")
}

fun platformEventTests() {
    val r = Rig(zoneProvider = { "Asia/Tokyo" })
    r.engine.timer(T0 + MIN)
    r.scheduler.onPlatformEvent(PlatformEvent.Boot)
    eq(r.engine.calls, listOf("tick@$T0", "event:boot:null@$T0"), "boot: catch-up tick, then the boot event")
    eq(r.alarm.current, Arming.Exact(T0 + MIN), "boot re-arms (alarms do not survive a reboot)")

    r.engine.calls.clear()
    r.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_TIME_SET)!!)
    eq(r.engine.calls, listOf("tick@$T0", "event:time_set:null@$T0"), "TIME_SET: a tick (the engine detects the jump), then time_set")
    r.engine.calls.clear()
    r.scheduler.onPlatformEvent(PlatformEvent.PackageReplaced)
    eq(r.engine.calls, listOf("tick@$T0"), "package replaced: a tick")

    r.engine.calls.clear()
    r.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_TIMEZONE_CHANGED, mapOf("time-zone" to "America/New_York"))!!)
    eq(r.engine.calls, listOf("zone:America/New_York@$T0", "tick@$T0", "event:timezone_changed:{\"zone\":\"America/New_York\"}@$T0"),
        "zone change: set the zone, tick, then timezone_changed")
    r.engine.calls.clear()
    r.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_TIMEZONE_CHANGED)!!)
    eq(r.engine.calls, listOf("zone:Asia/Tokyo@$T0", "tick@$T0", "event:timezone_changed:{\"zone\":\"Asia/Tokyo\"}@$T0"),
        "zone missing from the broadcast: the provider's zone")
    r.engine.calls.clear()
    r.scheduler.setTimeZone("Bad\"Zone\\")
    eq(r.engine.calls.first(), "zone:Bad\"Zone\\@$T0", "a zone id with quotes is passed verbatim")
    r.engine.failZone = IllegalArgumentException("time_zone: unknown")
    r.engine.calls.clear()
    r.scheduler.setTimeZone("Mars/Olympus")
    eq(r.engine.calls, listOf("zone:Mars/Olympus@$T0", "tick@$T0", "event:timezone_changed:{\"zone\":\"Mars/Olympus\"}@$T0"),
        "an unknown zone still ticks (and the change is an event)")
    eq(r.scheduler.consecutiveFailures, 0, "an unknown zone is not retried")
    ok(r.logger.lines.any { it.first == LogLevel.WARN && it.second.contains("Mars/Olympus") }, "but logged")
    eq(r.alarm.current, Arming.Exact(T0 + MIN), "and the alarm is unchanged")

    val noZone = Rig()
    noZone.scheduler.onPlatformEvent(PlatformEvent.TimeZoneChanged(null))
    eq(noZone.engine.calls, listOf("tick@$T0", "event:timezone_changed:{}@$T0"), "no zone known at all: tick, and the change without a zone")
    ok(noZone.logger.count(LogLevel.WARN) == 1, "and warn")

    val c = Rig()
    c.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_POWER_CONNECTED)!!)
    eq(c.engine.calls, listOf("event:charger:{\"plugged\":true}@$T0"), "POWER_CONNECTED → charger plugged")
    val arms = c.alarm.log.size
    c.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_BATTERY_CHANGED, mapOf("plugged" to 1))!!)
    eq(c.engine.calls.size, 1, "the sticky battery broadcast repeating the plug state is dropped")
    eq(c.alarm.log.size, arms, "a dropped event does not touch the alarm")
    c.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_POWER_DISCONNECTED)!!)
    eq(c.engine.calls.last(), "event:charger:{\"plugged\":false}@$T0", "POWER_DISCONNECTED → charger unplugged")

    val n = Rig()
    n.scheduler.onPlatformEvent(P.network(setOf("wifi"), true, true))
    n.scheduler.onPlatformEvent(P.network(setOf("wifi"), true, true))
    n.scheduler.onPlatformEvent(P.network(setOf("cellular"), true, false))
    n.scheduler.onPlatformEvent(P.network(null, false, false))
    eq(
        n.engine.calls,
        listOf(
            "event:network:{\"connected\":true,\"type\":\"wifi\",\"metered\":false}@$T0",
            "event:network:{\"connected\":true,\"type\":\"cellular\",\"metered\":true}@$T0",
            "event:network:{\"connected\":false,\"type\":\"none\"}@$T0",
        ),
        "network changes posted once each",
    )

    val a = Rig()
    a.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_PACKAGE_ADDED, emptyMap(), "package:com.x")!!)
    a.scheduler.onPlatformEvent(P.fromBroadcast(P.ACTION_PACKAGE_ADDED, emptyMap(), "package:com.x")!!)
    eq(a.engine.calls.size, 2, "every install is posted (no de-duplication)")
    eq(a.engine.calls[0], "event:app_installed:{\"package\":\"com.x\",\"replacing\":false}@$T0", "app_installed fields")
    a.scheduler.onPlatformEvent(PlatformEvent.Custom("sim_change", null))
    eq(a.engine.calls.last(), "event:sim_change:null@$T0", "custom event")
}
