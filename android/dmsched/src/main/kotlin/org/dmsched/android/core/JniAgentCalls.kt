// Pure Kotlin: no android.* imports (compiled on the host JVM with the JNI class).
package org.dmsched.android.core

import org.dmsched.jni.NativeAgent

/**
 * [NativeEngineCalls] over the full-client agent `org.dmsched.jni.NativeAgent`:
 * `DmScheduler(NativeSchedulerEngine(JniAgentCalls(agent)), alarm)` drives the
 * agent as it drives an engine — one alarm from the agent's wake-up window
 * (which includes report deliveries and their retries), ticks, device events,
 * zone changes. The agent's own tree changes through `agent.setValue`, so
 * [treeChanged] is not supported here. Delivering reports due at once opens a
 * DM session (network): call `agent.deliverReports` from a worker when
 * `agent.reportsToDeliver()` is not empty, not from the alarm receiver.
 */
class JniAgentCalls(private val agent: NativeAgent) : NativeEngineCalls {
    override fun nextWakeup(): Long = agent.nextWakeup()

    override fun wakeupWindow(): LongArray? = agent.wakeupWindow()

    override fun tick(nowMs: Long): String = agent.tick(nowMs)

    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): String =
        agent.postEvent(name, fieldsJson, nowMs)

    override fun setTimeZone(zone: String, nowMs: Long) = agent.setTimeZone(zone, nowMs)

    override fun treeChanged(uri: String, nowMs: Long): String =
        throw UnsupportedOperationException("the agent's tree changes through NativeAgent.setValue")
}
