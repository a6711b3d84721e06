// Pure Kotlin: no android.* imports (compiled on the host JVM with the JNI class).
package org.dmsched.android.core

import org.dmsched.jni.NativeEngine

/**
 * [NativeEngineCalls] over the JNI class `org.dmsched.jni.NativeEngine`
 * (bindings/uniffi/jni, the same native library as the UniFFI API), for
 * system services that cannot load JNA:
 * `NativeSchedulerEngine(JniEngineCalls(NativeEngine.open(…)))`.
 */
class JniEngineCalls(private val engine: NativeEngine) : NativeEngineCalls {
    override fun nextWakeup(): Long = engine.nextWakeup()

    override fun wakeupWindow(): LongArray? = engine.wakeupWindow()

    override fun tick(nowMs: Long): String = engine.tick(nowMs)

    override fun postEvent(name: String, fieldsJson: String?, nowMs: Long): String =
        engine.postEvent(name, fieldsJson, nowMs)

    override fun treeChanged(uri: String, nowMs: Long): String = engine.treeChanged(uri, nowMs)

    override fun setTimeZone(zone: String, nowMs: Long) = engine.setTimeZone(zone, nowMs)
}
