// Issue 15, long actions in Swift: the executor answers `.pending` (a
// firmware update outliving the call, e.g. an iOS background task); the
// run stays open until `complete(runId:results:nowMs:)`, which finishes
// it as if `execute` had returned the results; completing a run that is
// not waiting throws `InvalidState`. Mirrors testLongActions (Kotlin).
import Dmsched
import Foundation
import XCTest

/// Leaves every run to finish later, remembering its context.
final class LongRunner: TreeAccess, ActionExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var _started: [RunContext] = []

    var started: [RunContext] {
        lock.lock(); defer { lock.unlock() }
        return _started
    }

    func read(owner: String, uri: String) throws -> TreeValue? { nil }

    func execute(context: RunContext, actionsJson: String) throws -> Execution {
        lock.lock(); defer { lock.unlock() }
        _started.append(context)
        return .pending
    }
}

final class LongActionTests: XCTestCase {
    func testAPendingRunCompletesLater() throws {
        let host = LongRunner()
        let engine = try Engine.open(settings: EngineSettings(storePath: ":memory:"), tree: host, executor: host)
        let doc = """
            {"id": "fw", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}},
              "actions": [{"op": "Exec", "target": "./FwUpdate/Pkg/Update"}],
              "policy": {"report": "always", "completion_timeout_seconds": 600}}]}
            """
        _ = try engine.submit(owner: "srv", scheduleJson: doc, nowMs: t0 + 1000)
        XCTAssertTrue(try engine.tick(nowMs: t0 + 60 * minute).isEmpty, "started, not finished")
        let run = try XCTUnwrap(host.started.first)
        XCTAssertGreaterThan(run.runId, 0)
        XCTAssertEqual(try engine.nextWakeup(), t0 + 70 * minute, "wakes at the completion timeout")
        let done = try engine.complete(
            runId: run.runId,
            results: [CommandResult(op: "Exec", target: "./FwUpdate/Pkg/Update", status: 200, data: nil)],
            nowMs: t0 + 65 * minute)
        XCTAssertEqual(done.count, 1)
        XCTAssertEqual(done.first?.outcome, .ran)
        assertDmschedError("completed twice", { _ = try engine.complete(runId: run.runId, results: [], nowMs: t0 + 66 * minute) }) {
            if case let .InvalidState(m) = $0 { return m } else { return nil }
        }
        XCTAssertEqual(host.started.count, 1)
        engine.shutdown()
    }
}
