// The hand-off library (VARIANT=handoff) has no Agent: its Kotlin API is
// the engine's alone (make kotlin-test checks the generated file has no
// Agent class), so the engine tests run without the agent suite.
package org.dmsched.test

fun agentTests() {
    println("hand-off library: no Agent (full-client mode is not built in)")
}
