// Swift tests of the UniFFI bindings against the real library (the macOS
// slice of DmschedFFI.xcframework): every exported Engine call, error
// mapping, host callbacks (including ones that throw), lifetimes, threads.
// They mirror bindings/uniffi/tests/kotlin/EngineTest.kt.
import Dmsched
import Foundation
import XCTest

let t0: Int64 = 1_767_225_600_000 // 2026-01-01T00:00:00Z
let minute: Int64 = 60_000

let everyMinute = """
    {"id": "m", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}},
      "actions": [{"op": "Replace", "target": "./A", "data": "1"}], "policy": {"report": "always"}}]}
    """

/// A Swift error that is not `HostError`: it crosses as an unexpected callback error.
struct Exploded: Error, CustomStringConvertible {
    var description: String { "executor exploded" }
}

/// The host: a DM tree in a dictionary, an executor that records its calls.
final class TestHost: TreeAccess, ActionExecutor, ReportSink, @unchecked Sendable {
    enum Mode { case ok, throwSwiftError, hostError }

    private let lock = NSLock()
    private var tree: [String: TreeValue] = [:]
    private var _runs = 0
    private var _reports = 0
    private var _lastOwner = ""
    private var _actionsWereJson = true
    private var _mode = Mode.ok

    var runs: Int { locked { _runs } }
    var reports: Int { locked { _reports } }
    var lastOwner: String { locked { _lastOwner } }
    var actionsWereJson: Bool { locked { _actionsWereJson } }
    var mode: Mode {
        get { locked { _mode } }
        set { locked { _mode = newValue } }
    }

    func set(_ uri: String, _ value: TreeValue) {
        locked { tree[uri] = value }
    }

    func read(owner: String, uri: String) throws -> TreeValue? {
        locked { tree[uri] }
    }

    func execute(context: RunContext, actionsJson: String) throws -> Execution {
        let mode: Mode = locked {
            _runs += 1
            _lastOwner = context.owner
            if !actionsJson.contains("\"op\"") {
                _actionsWereJson = false
            }
            return _mode
        }
        switch mode {
        case .throwSwiftError: throw Exploded()
        case .hostError: throw HostError.Failed(reason: "device busy")
        case .ok: return .done(results: [CommandResult(op: "Replace", target: "./A", status: 200, data: nil)])
        }
    }

    func reportReady(report: Report) {
        locked { _reports += 1 }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

func makeSettings(zone: String = "UTC", options: String? = #"{"limits": {"min_interval_seconds": 1}}"#) -> EngineSettings {
    EngineSettings(storePath: ":memory:", deviceId: "swift-test", timeZone: zone, optionsJson: options)
}

/// The one place the tests open an engine (so a new optional parameter of
/// `Engine.open` is one edit here).
func openEngine(
    _ host: TestHost, reports: Bool = true, settings: EngineSettings = makeSettings(),
    prompt: UserPrompt? = nil, authorizer: Authorizer? = nil
) throws -> Engine {
    try Engine.open(settings: settings, tree: host, executor: host, reports: reports ? (host as ReportSink) : nil,
                    prompt: prompt, authorizer: authorizer)
}

/// Answers every confirmation with `answer`, recording the titles asked.
final class TestPrompt: UserPrompt, @unchecked Sendable {
    let answer: PromptAnswer
    /// The user's personalisation choices (JSON), or nil: later.
    let choices: String?
    private let lock = NSLock()
    private var _titles: [String] = []
    var titles: [String] { lock.lock(); defer { lock.unlock() }; return _titles }

    init(_ answer: PromptAnswer, choices: String? = nil) {
        self.answer = answer
        self.choices = choices
    }

    func confirm(context: RunContext, title: String) throws -> PromptAnswer {
        lock.lock(); defer { lock.unlock() }
        _titles.append(title)
        return answer
    }

    func personalize(context: RunContext, title: String, personalizeJson: String) throws -> String? {
        lock.lock(); defer { lock.unlock() }
        _titles.append("personalize \(title): \(personalizeJson)")
        return choices
    }
}

/// Lets `requester` read others' schedules, nothing more.
final class ReadOnlyAuthorizer: Authorizer, @unchecked Sendable {
    let requester: String
    init(requester: String) { self.requester = requester }

    func authorize(requester: String, owner: String, id: String, access: Access) -> Bool {
        requester == self.requester && access == .read
    }
}

/// `body` must throw the `DmschedError` that `matches` accepts; returns its message.
@discardableResult
func assertDmschedError(
    _ what: String,
    _ body: () throws -> Void,
    _ matches: (DmschedError) -> String?,
    file: StaticString = #filePath,
    line: UInt = #line
) -> String? {
    do {
        try body()
        XCTFail("\(what): nothing thrown", file: file, line: line)
    } catch let error as DmschedError {
        if let message = matches(error) {
            return message
        }
        XCTFail("\(what): wrong error \(error)", file: file, line: line)
    } catch {
        XCTFail("\(what): not a DmschedError: \(error)", file: file, line: line)
    }
    return nil
}

final class EngineTests: XCTestCase {
    func testLifecycleSubmitTickReportsAndStateChanges() throws {
        let host = TestHost()
        let engine = try openEngine(host)
        defer { engine.shutdown() }

        let summary = try engine.submit(owner: "srv", scheduleJson: everyMinute, nowMs: t0 + 30_000)
        XCTAssertEqual(summary.state, .active)
        XCTAssertEqual(summary.nextRunMs, t0 + minute, "next run is the next grid point")
        XCTAssertEqual(try engine.nextWakeup(), t0 + minute)

        let fired = try engine.tick(nowMs: t0 + minute)
        XCTAssertEqual(fired.count, 1)
        XCTAssertEqual(fired.first?.outcome, .ran)
        XCTAssertEqual(fired.first?.results.first?.status, 200, "results come back typed")
        XCTAssertEqual(host.runs, 1)
        XCTAssertEqual(host.lastOwner, "srv", "executor ran with the owner's identity")
        XCTAssertEqual(host.reports, 1, "report sink told")
        XCTAssertTrue(host.actionsWereJson, "actions arrive as JSON")

        let batch = try engine.pendingReports(owner: "srv", limit: 10)
        XCTAssertEqual(batch.reports.count, 1)
        XCTAssertEqual(batch.dropped, 0)
        XCTAssertEqual(try engine.ackReports(owner: "srv", ids: batch.reports.map { $0.id }), 1)

        XCTAssertEqual(try engine.get(requester: "srv", owner: "srv", id: "m").tasks.first?.runs, 1)
        XCTAssertEqual(try engine.list(requester: "srv").count, 1)
        XCTAssertEqual(try engine.list(requester: "intruder").count, 0, "another authority sees nothing")
        XCTAssertEqual(try engine.list(requester: nil).count, 1)

        XCTAssertEqual(try engine.suspend(requester: "srv", owner: "srv", id: "m", nowMs: t0 + minute).state, .suspended)
        XCTAssertNil(try engine.nextWakeup(), "suspended: nothing to wake for")
        XCTAssertEqual(try engine.resume(requester: "srv", owner: "srv", id: "m", nowMs: t0 + 5 * minute).state, .active)
        let modified = try engine.modify(requester: "srv", owner: "srv", scheduleJson: everyMinute, nowMs: t0 + 5 * minute)
        XCTAssertTrue(modified.documentJson.contains("\"id\":\"m\""), modified.documentJson)
        XCTAssertEqual(try engine.terminate(requester: "srv", owner: "srv", id: "m", nowMs: t0 + 6 * minute).state, .terminated)
    }

    func testErrorsMapToDmschedErrorWithMessages() throws {
        let host = TestHost()
        let engine = try openEngine(host, reports: false)

        let badRule = """
            {"id": "x", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=25",
              "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}, "actions": [{"op": "Get", "target": "./A"}]}]}
            """
        let message = assertDmschedError("invalid schedule", {
            _ = try engine.submit(owner: "srv", scheduleJson: badRule, nowMs: t0)
        }) { if case let .InvalidSchedule(m) = $0 { return m } else { return nil } }
        XCTAssertTrue(message?.contains("$.tasks[0].trigger.calendar.rrule") == true, "names the JSON path: \(message ?? "")")

        _ = try engine.submit(owner: "srv", scheduleJson: everyMinute, nowMs: t0)
        assertDmschedError("duplicate", { _ = try engine.submit(owner: "srv", scheduleJson: everyMinute, nowMs: t0) }) {
            if case let .AlreadyExists(m) = $0 { return m } else { return nil }
        }
        assertDmschedError("another authority cannot see it", { _ = try engine.get(requester: "intruder", owner: "srv", id: "m") }) {
            if case let .NotFound(m) = $0 { return m } else { return nil }
        }
        assertDmschedError("nor end it", { _ = try engine.terminate(requester: "intruder", owner: "srv", id: "m", nowMs: t0) }) {
            if case let .PermissionDenied(m) = $0 { return m } else { return nil }
        }
        assertDmschedError("resume an active schedule", { _ = try engine.resume(requester: "srv", owner: "srv", id: "m", nowMs: t0) }) {
            if case let .InvalidState(m) = $0 { return m } else { return nil }
        }
        assertDmschedError("bad event fields", { _ = try engine.postEvent(name: "x", fieldsJson: "not json", nowMs: t0) }) {
            if case let .InvalidArgument(m) = $0 { return m } else { return nil }
        }
        assertDmschedError("time out of range", { _ = try engine.tick(nowMs: Int64.max) }) {
            if case let .InvalidArgument(m) = $0 { return m } else { return nil }
        }
        assertDmschedError("bad options", { _ = try openEngine(host, settings: makeSettings(options: "{nope")) }) {
            if case let .InvalidArgument(m) = $0 { return m } else { return nil }
        }
        let zone = assertDmschedError("unknown zone", { _ = try openEngine(host, settings: makeSettings(zone: "Mars/Olympus")) }) {
            if case let .InvalidArgument(m) = $0 { return m } else { return nil }
        }
        XCTAssertTrue(zone?.contains("Mars/Olympus") == true, "names the zone: \(zone ?? "")")

        engine.shutdown()
        let closed = assertDmschedError("calls after shutdown", { _ = try engine.nextWakeup() }) {
            if case let .Closed(m) = $0 { return m } else { return nil }
        }
        XCTAssertEqual(closed, "the engine is closed")
        engine.shutdown() // twice is harmless
    }

    func testTreeChangesEventsAndCallbacksThatThrow() throws {
        let host = TestHost()
        host.set("./Bat", .int(v: 50))
        let engine = try openEngine(host, reports: false)
        defer { engine.shutdown() }
        _ = try engine.submit(owner: "srv", scheduleJson: """
            {"id": "low", "tasks": [{"id": "t", "trigger": {"becomes_true": "./Bat < 20"}, "actions": [{"op": "Exec", "target": "./S"}]}]}
            """, nowMs: t0)
        _ = try engine.submit(owner: "srv", scheduleJson: """
            {"id": "ev", "tasks": [{"id": "t", "trigger": {"event": {"name": "network", "filter": "event.type == 'wifi'"}},
              "actions": [{"op": "Exec", "target": "./S"}]}]}
            """, nowMs: t0)
        _ = try engine.tick(nowMs: t0)

        host.set("./Bat", .int(v: 10))
        let low = try engine.treeChanged(uri: "./Bat", nowMs: t0 + minute)
        XCTAssertEqual(low.map { $0.schedule }, ["low"], "tree change fires becomes_true")
        XCTAssertEqual(try engine.postEvent(name: "network", fieldsJson: #"{"type": "cellular"}"#, nowMs: t0 + 2 * minute).count, 0,
                       "the filter rejects the event")

        host.mode = .throwSwiftError
        let thrown = try engine.postEvent(name: "network", fieldsJson: #"{"type": "wifi"}"#, nowMs: t0 + 3 * minute)
        XCTAssertEqual(thrown.count, 1)
        XCTAssertEqual(thrown.first?.outcome, .failed, "a callback that throws fails the run")
        XCTAssertTrue(thrown.first?.reason?.contains("executor exploded") == true, "with its message: \(String(describing: thrown.first?.reason))")

        host.mode = .hostError
        let declined = try engine.postEvent(name: "network", fieldsJson: #"{"type": "wifi"}"#, nowMs: t0 + 4 * minute)
        XCTAssertEqual(declined.first?.outcome, .failed)
        XCTAssertEqual(declined.first?.reason, "device busy", "HostError.Failed carries its reason")
    }

    func testTimeZoneAndWakeupWindow() throws {
        let host = TestHost()
        let engine = try openEngine(host, reports: false)
        defer { engine.shutdown() }
        XCTAssertNil(try engine.wakeupWindow(), "nothing scheduled: no window")
        _ = try engine.submit(owner: "srv", scheduleJson: everyMinute, nowMs: t0 + 30_000)
        let window = try XCTUnwrap(try engine.wakeupWindow())
        XCTAssertEqual(window.earliestMs, try engine.nextWakeup(), "the window opens at the next wake-up")
        XCTAssertGreaterThanOrEqual(window.latestMs, window.earliestMs)

        try engine.setTimeZone(zone: "America/New_York", nowMs: t0 + 30_000)
        assertDmschedError("unknown zone", { try engine.setTimeZone(zone: "Mars/Olympus", nowMs: t0) }) {
            if case let .InvalidArgument(m) = $0 { return m } else { return nil }
        }
    }

    func testPromptAnswersDecideTheRun() throws {
        let confirmDoc = """
            {"id": "c", "name": "Clean-up", "tasks": [{"id": "t", "trigger": {"event": {"name": "go"}},
              "actions": [{"op": "Exec", "target": "./S"}], "policy": {"confirm": true}}]}
            """
        let refusing = TestPrompt(.refuse)
        let host = TestHost()
        let engine = try openEngine(host, reports: false, prompt: refusing)
        defer { engine.shutdown() }
        _ = try engine.submit(owner: "srv", scheduleJson: confirmDoc, nowMs: t0)
        let refused = try engine.postEvent(name: "go", fieldsJson: nil, nowMs: t0 + minute)
        XCTAssertEqual(refused.first?.outcome, .skipped, "a refusal skips the run")
        XCTAssertEqual(host.runs, 0)
        XCTAssertEqual(refusing.titles.count, 1, "the user was asked once")

        let accepting = TestPrompt(.accept)
        let other = TestHost()
        let engine2 = try openEngine(other, reports: false, prompt: accepting)
        defer { engine2.shutdown() }
        _ = try engine2.submit(owner: "srv", scheduleJson: confirmDoc, nowMs: t0)
        let accepted = try engine2.postEvent(name: "go", fieldsJson: nil, nowMs: t0 + minute)
        XCTAssertEqual(accepted.first?.outcome, .ran)
        XCTAssertEqual(other.runs, 1)
    }

    /// Issue 18, use case step 4: the prompt is asked at install with the
    /// parameters; the choices are stored and applied; `personalize`
    /// changes them later, refused out of bounds.
    func testPersonalisationChoicesAreAskedStoredAndApplied() throws {
        let doc = """
            {"id": "p", "name": "Care", "tasks": [{"id": "t", "trigger": {"event": {"name": "go"}},
              "actions": [{"op": "Exec", "target": "./S"}]}],
             "personalize": {"params": [{"id": "share", "task": "t", "label": "Share usage", "opt_out": true}]}}
            """
        let prompt = TestPrompt(.accept, choices: #"{"share": true}"#)
        let host = TestHost()
        let engine = try openEngine(host, reports: false, prompt: prompt)
        defer { engine.shutdown() }
        let installed = try engine.submit(owner: "srv", scheduleJson: doc, nowMs: t0)
        XCTAssertTrue(installed.documentJson.contains(#""choices":{"share":true}"#), installed.documentJson)
        XCTAssertTrue(prompt.titles.first?.hasPrefix("personalize Care: ") == true
                      && prompt.titles.first?.contains("Share usage") == true, "\(prompt.titles)")
        let skipped = try engine.postEvent(name: "go", fieldsJson: nil, nowMs: t0 + minute)
        XCTAssertEqual(skipped.first?.outcome, .skipped, "opted out")
        XCTAssertEqual(host.runs, 0)
        let message = assertDmschedError("out of bounds", {
            _ = try engine.personalize(owner: "srv", id: "p", choicesJson: #"{"share": 5}"#, nowMs: t0)
        }) { if case let .InvalidSchedule(m) = $0 { return m } else { return nil } }
        XCTAssertTrue(message?.contains("true or false") == true, message ?? "")
        let changed = try engine.personalize(owner: "srv", id: "p", choicesJson: #"{"share": false}"#, nowMs: t0 + 2 * minute)
        XCTAssertTrue(changed.documentJson.contains(#""choices":{"share":false}"#), changed.documentJson)
        XCTAssertEqual(try engine.postEvent(name: "go", fieldsJson: nil, nowMs: t0 + 3 * minute).first?.outcome, .ran)
        XCTAssertEqual(host.runs, 1)
        // Issue 18 (B10): the run history, oldest first.
        let history = try engine.get(requester: "srv", owner: "srv", id: "p").tasks.first?.history ?? []
        XCTAssertEqual(history.map { $0.outcome }, [.skipped, .ran])
        XCTAssertEqual(history.last?.runAtMs, t0 + 3 * minute)
    }

    func testAuthorizerGrantsCrossAuthorityAccess() throws {
        let host = TestHost()
        let engine = try openEngine(host, reports: false, authorizer: ReadOnlyAuthorizer(requester: "auditor"))
        defer { engine.shutdown() }
        _ = try engine.submit(owner: "srv", scheduleJson: everyMinute, nowMs: t0)
        XCTAssertEqual(try engine.get(requester: "auditor", owner: "srv", id: "m").id, "m", "read granted")
        assertDmschedError("end not granted", { _ = try engine.terminate(requester: "auditor", owner: "srv", id: "m", nowMs: t0) }) {
            if case let .PermissionDenied(m) = $0 { return m } else { return nil }
        }
    }

    func testConcurrentCallsFromSeveralThreads() throws {
        let host = TestHost()
        let engine = try openEngine(host, reports: false)
        defer { engine.shutdown() }
        let errors = NSLock()
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            do {
                for k in 0..<10 {
                    let doc = everyMinute.replacingOccurrences(of: #""id": "m""#, with: #""id": "t\#(i)-\#(k)""#)
                    _ = try engine.submit(owner: "srv", scheduleJson: doc, nowMs: t0)
                    _ = try engine.tick(nowMs: t0 + Int64(k + 1) * minute)
                    _ = try engine.nextWakeup()
                }
            } catch {
                errors.lock()
                failures.append(String(describing: error))
                errors.unlock()
            }
        }
        XCTAssertEqual(failures, [], "no errors from 4 threads")
        XCTAssertEqual(try engine.list(requester: "srv").count, 40, "40 schedules from 4 threads")
    }
}
