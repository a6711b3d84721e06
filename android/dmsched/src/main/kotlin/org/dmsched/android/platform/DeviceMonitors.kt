package org.dmsched.android.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import org.dmsched.android.core.PlatformEvent
import org.dmsched.android.core.PlatformEvents

/**
 * Runtime registrations for what manifest receivers no longer get on
 * Android 8+ (implicit broadcasts): the default network, charger plug
 * state, package installs. They live as long as the process.
 */
internal class DeviceMonitors(private val context: Context, private val onEvent: (PlatformEvent) -> Unit) {
    private val connectivity = context.getSystemService(ConnectivityManager::class.java)

    private val networkCallback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
            onEvent(
                PlatformEvents.network(
                    transports = TRANSPORTS.filter { caps.hasTransport(it.first) }.map { it.second },
                    validatedInternet = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) &&
                        caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED),
                    notMetered = caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED),
                ),
            )
        }

        override fun onLost(network: Network) {
            onEvent(PlatformEvents.network(null, validatedInternet = false, notMetered = false))
        }
    }

    private val receiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            PlatformEvents.fromBroadcast(intent.action, extrasOf(intent), intent.dataString)?.let(onEvent)
        }
    }

    fun start() {
        // Called at once with the current default network, then on every change.
        connectivity.registerDefaultNetworkCallback(networkCallback)
        register(IntentFilter().apply {
            addAction(Intent.ACTION_POWER_CONNECTED)
            addAction(Intent.ACTION_POWER_DISCONNECTED)
        })
        // PACKAGE_ADDED is seen only for packages visible to this app (Android 11+ package visibility).
        register(IntentFilter(Intent.ACTION_PACKAGE_ADDED).apply { addDataScheme("package") })
        // The current plug state: BATTERY_CHANGED is sticky; a null receiver only reads it.
        stickyBattery()?.let { i -> PlatformEvents.fromBroadcast(i.action, extrasOf(i))?.let(onEvent) }
    }

    fun stop() {
        connectivity.unregisterNetworkCallback(networkCallback)
        context.unregisterReceiver(receiver)
    }

    // System broadcasts only, so not exported (Android 13+ wants the flag said).
    private fun register(filter: IntentFilter) {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            context.registerReceiver(receiver, filter, Context.RECEIVER_NOT_EXPORTED)
        } else {
            context.registerReceiver(receiver, filter)
        }
    }

    private fun stickyBattery(): Intent? {
        val filter = IntentFilter(Intent.ACTION_BATTERY_CHANGED)
        return if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            context.registerReceiver(null, filter, Context.RECEIVER_NOT_EXPORTED)
        } else {
            context.registerReceiver(null, filter)
        }
    }

    private companion object {
        // NetworkCapabilities.TRANSPORT_* values; USB (31), THREAD (34) and SATELLITE (35)
        // as literals so minSdk 26 code need not reference newer constants.
        val TRANSPORTS = listOf(
            NetworkCapabilities.TRANSPORT_CELLULAR to "cellular",
            NetworkCapabilities.TRANSPORT_WIFI to "wifi",
            NetworkCapabilities.TRANSPORT_BLUETOOTH to "bluetooth",
            NetworkCapabilities.TRANSPORT_ETHERNET to "ethernet",
            NetworkCapabilities.TRANSPORT_VPN to "vpn",
            NetworkCapabilities.TRANSPORT_WIFI_AWARE to "wifi_aware",
            NetworkCapabilities.TRANSPORT_LOWPAN to "lowpan",
            8 to "usb",
            9 to "thread",
            10 to "satellite",
        )
    }
}
