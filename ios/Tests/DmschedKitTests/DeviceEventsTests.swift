// Issue 15, idiomatic Swift: DmScheduler posts `network` and `charger`
// events (the NWPathMonitor and battery glue feed these methods; on Linux
// the test feeds them), each state once; `async` calls run off the caller
// and report like the synchronous ones; a schedule document can be any
// Encodable; a long action completes with `await engine.complete(…)`.
import Dmsched
@testable import DmschedKit
import Foundation
import XCTest

/// A schedule document as an app might model it (the format's snake_case keys).
struct EveryDocument: Encodable {
    struct Every: Encodable {
        let seconds: Int
        let anchor: String
    }

    struct Trigger: Encodable {
        let every: Every
    }

    struct Command: Encodable {
        let op: String
        let target: String
    }

    struct Task: Encodable {
        let id: String
        let trigger: Trigger
        let actions: [Command]
    }

    let id: String
    let tasks: [Task]
}

/// Leaves every run to finish later.
final class PendingHost: TreeAccess, ActionExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var _runs: [RunContext] = []
    var runs: [RunContext] {
        lock.lock(); defer { lock.unlock() }
        return _runs
    }

    func read(owner: String, uri: String) throws -> TreeValue? { nil }
    func execute(context: RunContext, actionsJson: String) throws -> Execution {
        lock.lock(); defer { lock.unlock() }
        _runs.append(context)
        return .pending
    }
}

final class DeviceEventsTests: XCTestCase {
    let nowMs: Int64 = 1_767_225_600_000
    var engine: FakeEngine!
    var scheduler: DmScheduler!

    override func setUp() {
        super.setUp()
        engine = FakeEngine()
        let ms = nowMs
        scheduler = DmScheduler(
            engine: engine, wakeups: [FakeWakeups()], notifications: NotificationCenter(),
            now: { Date(timeIntervalSince1970: TimeInterval(ms) / 1000) }, currentTimeZone: { "UTC" })
    }

    func testNetworkAndPowerStatesArePostedOnceEach() throws {
        try scheduler.networkChanged(NetworkState(connected: true, type: "wifi", metered: false))
        try scheduler.networkChanged(NetworkState(connected: true, type: "wifi", metered: false))
        try scheduler.networkChanged(NetworkState(connected: false))
        try scheduler.powerChanged(PowerState(plugged: true))
        try scheduler.powerChanged(PowerState(plugged: true))
        XCTAssertEqual(engine.calls, ["event:network@\(nowMs)", "event:network@\(nowMs)", "event:charger@\(nowMs)"])
        XCTAssertEqual(NetworkState(connected: true, type: "wifi", metered: false).fieldsJson,
                       #"{"connected":true,"metered":false,"type":"wifi"}"#)
        XCTAssertEqual(NetworkState(connected: false).fieldsJson, #"{"connected":false,"type":"none"}"#)
        XCTAssertEqual(PowerState(plugged: false).fieldsJson, #"{"plugged":false}"#)
    }

    func testAFailedPostIsPostedAgainNextTime() throws {
        engine.failNext = .Storage(message: "disk full")
        XCTAssertThrowsError(try scheduler.networkChanged(NetworkState(connected: true, type: "cellular", metered: true)))
        try scheduler.networkChanged(NetworkState(connected: true, type: "cellular", metered: true))
        XCTAssertEqual(engine.calls.filter { $0.hasPrefix("event:network") }.count, 2)
    }

    func testAsyncCallsRunOffTheCallerAndReport() async throws {
        engine.fireOnTick = true
        var told = 0
        scheduler.onFirings = { told += $0.count }
        let fired = try await scheduler.tick()
        XCTAssertEqual(fired.count, 1)
        XCTAssertEqual(told, 1)
        _ = try await scheduler.postEvent(name: "boot")
        let doc = EveryDocument(id: "e", tasks: [.init(
            id: "t", trigger: .init(every: .init(seconds: 60, anchor: "2026-01-01T00:00:00Z")),
            actions: [.init(op: "Get", target: "./A")])])
        let summary = try await scheduler.submit(owner: "srv", document: doc)
        XCTAssertTrue(summary.documentJson.contains(#""anchor":"2026-01-01T00:00:00Z""#), summary.documentJson)
        XCTAssertEqual(engine.calls, ["tick@\(nowMs)", "event:boot@\(nowMs)", "submit:srv@\(nowMs)"])
    }

    func testAnEncodableDocumentIsAcceptedByTheRealEngineAndALongActionCompletesAsync() async throws {
        let host = PendingHost()
        let real = try Engine.open(settings: EngineSettings(storePath: ":memory:"), tree: host, executor: host)
        let scheduler = DmScheduler(engine: EngineDriver(real), wakeups: [FakeWakeups()],
                                    notifications: NotificationCenter(),
                                    now: { Date(timeIntervalSince1970: 1_767_225_540) }, currentTimeZone: { "UTC" })
        let doc = EveryDocument(id: "fw", tasks: [.init(
            id: "t", trigger: .init(every: .init(seconds: 3600, anchor: "2026-01-01T00:00:00Z")),
            actions: [.init(op: "Exec", target: "./FwUpdate/Pkg/Update")])])
        let summary = try await scheduler.submit(owner: "srv", document: doc)
        XCTAssertEqual(summary.state, .active)
        XCTAssertEqual(try real.tick(nowMs: nowMs), [], "started at 00:00, not finished")
        let run = try XCTUnwrap(host.runs.first)
        let done = try await real.complete(
            runId: run.runId,
            results: [CommandResult(op: "Exec", target: "./FwUpdate/Pkg/Update", status: 200, data: nil)],
            nowMs: nowMs + 60_000)
        XCTAssertEqual(done.first?.outcome, .ran)
        real.shutdown()
    }
}

/// Issue 15, Codable reports: firings, reports and DM reports encode to the
/// same snake_case JSON as the C ABI and JNI.
final class CodableReportsTests: XCTestCase {
    func testRecordsEncodeAsTheOtherSurfacesJson() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let firing = Firing(owner: "srv", schedule: "s", task: "t", seq: 3, dueMs: 1000, runAtMs: 1500, outcome: .ran,
                            reason: nil, attempts: 1,
                            results: [CommandResult(op: "Get", target: "./A", status: 200, data: "1")])
        let text = String(decoding: try encoder.encode(Report(id: 7, reportId: "ab12", createdMs: 1500, firing: firing)),
                          as: UTF8.self)
        XCTAssertEqual(text, #"{"created_ms":1500,"firing":{"attempts":1,"due_ms":1000,"outcome":"ran","owner":"srv","# +
            #""results":[{"data":"1","op":"Get","status":200,"target":".\/A"}],"run_at_ms":1500,"schedule":"s","seq":3,"task":"t"},"# +
            #""id":7,"report_id":"ab12"}"#)
        let mo = MoReport(id: nil, owner: "srv", source: "./Scheduling/Schedules/s", metaType: "org.dmsched.scheduling.state",
                          mark: "informational", data: "<State/>", reportId: "cd34", createdMs: 9, evicted: 0)
        let moText = String(decoding: try encoder.encode(mo), as: UTF8.self)
        XCTAssertTrue(moText.contains(#""meta_type":"org.dmsched.scheduling.state""#), moText)
        XCTAssertFalse(moText.contains(#""id""#), "a state report has no outbox id: \(moText)")
    }
}
