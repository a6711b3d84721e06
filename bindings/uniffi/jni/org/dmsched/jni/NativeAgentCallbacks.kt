package org.dmsched.jni

// The callbacks of a [NativeAgent], each optional. They run on the thread
// that called into the agent (for DM alerts: the thread running
// runSession) and must not call back into the agent. Throwing is safe.

/**
 * Shows a server's user-interaction alert (1100–1104) or a package #0 notice.
 * [requestJson]: `{"server_id", "kind": {"type": "display" | "confirm" |
 * "text_input" (+ "max_len", "input_type", "echo") | "single_choice" |
 * "multiple_choice" (+ "choices")}, "text", "min_display_secs",
 * "max_display_secs", "default_response"}`. Answer `"yes"`, `"no"`,
 * `"cancel"`, `"timeout"`, `"cannot_show"`, `{"text": "…"}` or
 * `{"choices": [1, 3]}` (from 1); anything else, or throwing, answers 416.
 */
fun interface NativeUserInteraction {
    fun interact(requestJson: String): String
}

/**
 * Asks the user before a run of a task whose policy says `confirm`
 * ([contextJson] as in [NativeHost.execute], [title] the schedule's name).
 * Answer `"accept"`, `"refuse"` or `{"postpone": seconds}`; throwing refuses.
 */
fun interface NativePrompt {
    fun confirm(contextJson: String, title: String): String

    /**
     * Asks the user to adjust a schedule (personalisation), as
     * [NativeHost.personalize]: the choices as JSON, or null (the default)
     * to decide later with [NativeAgent.personalize].
     */
    fun personalize(contextJson: String, title: String, personalizeJson: String): String? = null
}

/**
 * Whether [requester] may act on schedule [id] of [owner]: [access] is
 * `read`, `change` or `end`. Throwing denies.
 */
fun interface NativeAuthorizer {
    fun authorize(requester: String, owner: String, id: String, access: String): Boolean
}

/**
 * Hand-off mode: runs the DM commands of a scheduled task through the host's
 * own DM stack instead of the agent's tree, as [NativeHost.execute]:
 * [contextJson] (`owner` — the server whose rights they run with —,
 * `schedule`, `task`, `seq`, `attempt`, `due`, `now`, `run_id`), [actionsJson]
 * the task's actions; return a JSON array of `{"op", "target", "status",
 * "data"?}`, one per command run, or `"pending"` to complete the run later
 * ([NativeAgent.complete]). The statuses are the run's results and go
 * into its report; throwing (or garbage) makes the attempt fail with that reason.
 */
fun interface NativeExecutor {
    fun execute(contextJson: String, actionsJson: String): String
}

/**
 * Where the agent keeps its DM accounts' secrets (passwords, HMAC secrets,
 * nonces): an Android Keystore-backed store, say. Without one they go to
 * `dmsched.db.secrets` (mode 0600) in the state directory; a store given
 * later takes over that file's values at open. Keys are opaque
 * (`dmsched-tree-…`); other keys in the store are never touched. [put] must
 * be durable when it returns; never log values. Throwing fails the
 * operation that needed the secret with that reason; nothing is lost.
 */
interface NativeSecretStore {
    /** The value under [key], or null. */
    fun get(key: String): ByteArray?
    /** Stores [value] under [key], replacing any. */
    fun put(key: String, value: ByteArray)
    /** Removes [key] (absent: nothing to do). */
    fun delete(key: String)
    /** Every key the store holds. */
    fun keys(): Array<String>
}
