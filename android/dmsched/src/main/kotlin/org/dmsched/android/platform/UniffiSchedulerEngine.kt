package org.dmsched.android.platform

import org.dmsched.Engine
import org.dmsched.Firing
import org.dmsched.android.core.SchedulerEngine
import org.dmsched.android.core.WakeupWindow

/**
 * [SchedulerEngine] over the UniFFI `org.dmsched.Engine` (JNA). The caller
 * opens the engine (`Engine.open(settings, tree, executor, reports, …)`) and
 * keeps it for `edit { engine.submit(...) }`; this adapter does not own it.
 */
class UniffiSchedulerEngine(val engine: Engine) : SchedulerEngine<Firing> {
    override fun wakeupWindow(): WakeupWindow? {
        engine.wakeupWindow()?.let { return WakeupWindow(it.earliestMs, it.latestMs) }
        return engine.nextWakeup()?.let { WakeupWindow(it, it) }
    }

    override fun tick(nowMs: Long): List<Firing> = engine.tick(nowMs)

    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): List<Firing> =
        engine.postEvent(name, fieldsJson, nowMs)

    override fun treeChanged(uri: String, nowMs: Long): List<Firing> = engine.treeChanged(uri, nowMs)

    override fun setTimeZone(zone: String, nowMs: Long) = engine.setTimeZone(zone, nowMs)
}
