// Host JVM tests of the pure-Kotlin facade (no Android, no JUnit): each check
// counts as passed or failed; main() exits non-zero on any failure.
package org.dmsched.android.core

var passed = 0
var failed = 0

fun ok(cond: Boolean, what: String) {
    if (cond) passed++ else { failed++; System.err.println("FAILED: $what") }
}

fun <T> eq(actual: T, expected: T, what: String) = ok(actual == expected, "$what: expected <$expected>, got <$actual>")

inline fun <reified E : Throwable> throws(what: String, block: () -> Unit) {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) passed++ else { failed++; System.err.println("FAILED: $what: threw ${e::class.simpleName}: ${e.message}") }
        return
    }
    failed++
    System.err.println("FAILED: $what: nothing thrown")
}

fun main() {
    val suites = listOf<Pair<String, () -> Unit>>(
        "json" to ::jsonTests,
        "policy" to ::policyTests,
        "hybrid alarm" to ::hybridAlarmTests,
        "scheduler" to ::schedulerTests,
        "failures" to ::failureTests,
        "broadcast mapping" to ::broadcastMappingTests,
        "platform events" to ::platformEventTests,
        "native engine adapter" to ::nativeEngineTests,
        "concurrency" to ::concurrencyTests,
        "secrets" to ::secretsTests,
        "suspending" to ::suspendingTests,
    )
    for ((name, suite) in suites) {
        val before = failed
        try {
            suite()
        } catch (e: Throwable) {
            failed++
            System.err.println("FAILED: suite $name threw ${e::class.simpleName}: ${e.message}")
            e.printStackTrace()
        }
        println("${if (failed == before) "ok  " else "FAIL"} $name")
    }
    println("android facade host tests: $passed passed, $failed failed")
    if (failed > 0 || passed == 0) kotlin.system.exitProcess(1)
}
