package org.dmsched.jni

/**
 * The host of a [NativeEngine]: called on the thread that called into the
 * engine, while the engine is locked (never call back into the engine).
 * Data is JSON, as in the C ABI (docs/c-api.md). Throwing from a callback
 * makes that read or run fail with the exception's text.
 */
interface NativeHost {
    /** The value of [uri] read with [owner]'s rights as JSON (`true`, `3`, `"x"`), or null when absent. */
    fun read(owner: String, uri: String): String?

    /**
     * Runs [actionsJson] (the task's actions) with the rights of the owner in
     * [contextJson] (`owner`, `schedule`, `task`, `seq`, `attempt`, `due`, `now`,
     * `run_id`); returns a JSON array of `{"op", "target", "status", "data"?}`,
     * one per command run, or the JSON string `"pending"` when the commands go
     * on after the call (a long action: [NativeEngine.complete] with `run_id`
     * later, within the task's `completion_timeout_seconds`).
     */
    fun execute(contextJson: String, actionsJson: String): String

    /** A report (`{"id", "report_id", "created", "firing"}`) waits in the outbox; acknowledge it once delivered. */
    fun reportReady(reportJson: String)

    /**
     * Asks the user to adjust a schedule (personalisation): called when one
     * with parameters is installed, or a modify brings new ones.
     * [personalizeJson] is `{"params": [...], "choices": {...}}`; return the
     * user's choices as a JSON object (parameter id to a window, seconds or
     * true/false), or null to decide later ([NativeEngine.personalize]).
     */
    fun personalize(contextJson: String, title: String, personalizeJson: String): String? = null
}
