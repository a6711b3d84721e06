// DmScheduler's logic with fakes: a scripted engine, a recording wake-up
// scheduler, a private NotificationCenter and a fixed clock. No library and
// no BGTaskScheduler needed.
import Dmsched
@testable import DmschedKit
import Foundation
import XCTest

/// An engine whose next wake-up the test sets, recording every call.
final class FakeEngine: SchedulerEngine {
    var wakeup: Int64?
    var calls: [String] = []
    var failNext: DmschedError?
    /// Set by `tick` when `fireOnTick` is true.
    var fireOnTick = false

    func nextWakeup() throws -> Int64? {
        wakeup
    }

    func tick(nowMs: Int64) throws -> [Firing] {
        try record("tick@\(nowMs)")
        return fireOnTick ? [FakeEngine.firing(dueMs: nowMs)] : []
    }

    func submit(owner: String, scheduleJson: String, nowMs: Int64) throws -> ScheduleSummary {
        try record("submit:\(owner)@\(nowMs)")
        return ScheduleSummary(owner: owner, id: "s", state: .active, reason: nil, nextRunMs: wakeup, tasks: [],
                               documentJson: scheduleJson)
    }

    func postEvent(name: String, fieldsJson: String?, nowMs: Int64) throws -> [Firing] {
        try record("event:\(name)@\(nowMs)")
        return []
    }

    func treeChanged(uri: String, nowMs: Int64) throws -> [Firing] {
        try record("tree:\(uri)@\(nowMs)")
        return []
    }

    func setTimeZone(zone: String, nowMs: Int64) throws {
        try record("zone:\(zone)@\(nowMs)")
    }

    private func record(_ call: String) throws {
        calls.append(call)
        if let error = failNext {
            failNext = nil
            throw error
        }
    }

    static func firing(dueMs: Int64) -> Firing {
        Firing(owner: "srv", schedule: "s", task: "t", seq: 1, dueMs: dueMs, runAtMs: dueMs, outcome: .ran,
               reason: nil, attempts: 1, results: [])
    }
}

/// Records what is armed; `fire()` plays the system running the task.
final class FakeWakeups: WakeupScheduler {
    var handlers: [String: (BackgroundRun) -> Void] = [:]
    var armed: [String: Date] = [:]
    var log: [String] = []
    var refuseRegistration = false
    var armError: Error?

    func register(identifier: String, handler: @escaping (BackgroundRun) -> Void) -> Bool {
        if refuseRegistration { return false }
        handlers[identifier] = handler
        return true
    }

    func arm(identifier: String, earliest: Date) throws {
        if let error = armError { throw error }
        armed[identifier] = earliest
        log.append("arm \(Int64(earliest.timeIntervalSince1970 * 1000))")
    }

    func cancel(identifier: String) {
        armed[identifier] = nil
        log.append("cancel")
    }

    /// Runs the registered handler as the system would; returns the run.
    @discardableResult
    func fire(_ identifier: String = DmScheduler.defaultTaskIdentifier) -> FakeRun {
        let run = FakeRun()
        handlers[identifier]?(run)
        return run
    }
}

final class FakeRun: BackgroundRun {
    var expirationHandler: (() -> Void)?
    var completed: [Bool] = []
    func complete(success: Bool) { completed.append(success) }
}

struct ArmFailed: Error {}

final class DmSchedulerTests: XCTestCase {
    let nowMs: Int64 = 1_767_225_600_000 // 2026-01-01T00:00:00Z
    var engine: FakeEngine!
    var wakeups: FakeWakeups!
    var center: NotificationCenter!
    var zone = "Europe/Berlin"
    var scheduler: DmScheduler!

    override func setUp() {
        super.setUp()
        let engine = FakeEngine()
        let wakeups = FakeWakeups()
        let center = NotificationCenter()
        self.engine = engine
        self.wakeups = wakeups
        self.center = center
        let ms = nowMs
        scheduler = DmScheduler(
            engine: engine, wakeups: [wakeups], notifications: center,
            now: { Date(timeIntervalSince1970: TimeInterval(ms) / 1000) },
            currentTimeZone: { [unowned self] in self.zone }
        )
    }

    private func armedMs() -> Int64? {
        wakeups.armed[DmScheduler.defaultTaskIdentifier].map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    func testStartRegistersTicksAndArmsTheNextWakeup() {
        engine.wakeup = nowMs + 60_000
        scheduler.start()
        XCTAssertNotNil(wakeups.handlers[DmScheduler.defaultTaskIdentifier], "handler registered")
        XCTAssertEqual(engine.calls, ["tick@\(nowMs)"], "start runs what is due")
        XCTAssertEqual(armedMs(), nowMs + 60_000)
        XCTAssertEqual(scheduler.armedWakeup, Date(timeIntervalSince1970: TimeInterval(nowMs + 60_000) / 1000))
    }

    func testSubmitArmsFromNextWakeup() throws {
        engine.wakeup = nowMs + 3_600_000
        let summary = try scheduler.submit(owner: "srv", scheduleJson: "{}")
        XCTAssertEqual(summary.owner, "srv")
        XCTAssertEqual(engine.calls, ["submit:srv@\(nowMs)"], "the engine gets the injected clock")
        XCTAssertEqual(armedMs(), nowMs + 3_600_000)
    }

    func testNoWakeupCancelsTheRequest() throws {
        engine.wakeup = nowMs + 1_000
        try scheduler.submit(owner: "srv", scheduleJson: "{}")
        XCTAssertNotNil(armedMs())
        engine.wakeup = nil
        try scheduler.tick()
        XCTAssertNil(armedMs(), "nothing scheduled: nothing armed")
        XCTAssertNil(scheduler.armedWakeup)
        XCTAssertEqual(wakeups.log, ["arm \(nowMs + 1_000)", "cancel"])
    }

    func testEventsAndTreeChangesRearm() throws {
        engine.wakeup = nowMs + 5_000
        try scheduler.postEvent(name: "network", fieldsJson: #"{"type": "wifi"}"#)
        XCTAssertEqual(armedMs(), nowMs + 5_000)
        engine.wakeup = nowMs + 9_000
        try scheduler.treeChanged(uri: "./Bat")
        XCTAssertEqual(armedMs(), nowMs + 9_000, "re-armed for the new instant")
        XCTAssertEqual(engine.calls, ["event:network@\(nowMs)", "tree:./Bat@\(nowMs)"])
    }

    func testRearmFollowsDirectEngineChanges() {
        engine.wakeup = nowMs + 7_000
        scheduler.rearm()
        XCTAssertEqual(armedMs(), nowMs + 7_000)
        XCTAssertEqual(engine.calls, [], "rearm only reads the next wake-up")
    }

    func testBackgroundWakeupTicksRearmsAndCompletes() {
        engine.wakeup = nowMs + 60_000
        scheduler.start()
        engine.fireOnTick = true
        var delivered: [Firing] = []
        scheduler.onFirings = { delivered += $0 }
        engine.wakeup = nowMs + 120_000
        let run = wakeups.fire()
        XCTAssertEqual(run.completed, [true])
        XCTAssertNotNil(run.expirationHandler, "an expiration handler is set")
        XCTAssertEqual(delivered.count, 1, "firings reach onFirings")
        XCTAssertEqual(armedMs(), nowMs + 120_000, "armed again after the run")
    }

    func testFailedTickCompletesUnsuccessfullyAndStillRearms() {
        scheduler.start()
        engine.wakeup = nowMs + 30_000
        engine.failNext = .Storage(message: "disk full")
        let run = wakeups.fire()
        XCTAssertEqual(run.completed, [false])
        XCTAssertEqual(armedMs(), nowMs + 30_000, "a failed call does not lose the wake-up")
    }

    func testEngineErrorsAreRethrownUnchanged() {
        engine.failNext = .InvalidSchedule(message: "$.tasks: missing")
        XCTAssertThrowsError(try scheduler.submit(owner: "srv", scheduleJson: "{}")) { error in
            XCTAssertEqual(error as? DmschedError, .InvalidSchedule(message: "$.tasks: missing"))
        }
    }

    func testArmFailureDoesNotFailTheEngineCall() throws {
        engine.wakeup = nowMs + 1_000
        wakeups.armError = ArmFailed()
        XCTAssertNoThrow(try scheduler.submit(owner: "srv", scheduleJson: "{}"),
                         "the schedule is stored; only the wake-up is late")
        XCTAssertNil(armedMs())
    }

    func testTimeZoneChangeFeedsTheEngineTicksAndRearms() {
        scheduler.start()
        engine.calls = []
        zone = "America/New_York"
        engine.wakeup = nowMs + 42_000
        center.post(name: .NSSystemTimeZoneDidChange, object: nil)
        XCTAssertEqual(engine.calls, ["zone:America/New_York@\(nowMs)", "tick@\(nowMs)"])
        XCTAssertEqual(armedMs(), nowMs + 42_000)
    }

    func testClockChangeTicksAndRearms() {
        scheduler.start()
        engine.calls = []
        engine.wakeup = nowMs + 11_000
        center.post(name: DmScheduler.clockDidChangeNotification, object: nil)
        XCTAssertEqual(engine.calls, ["tick@\(nowMs)"])
        XCTAssertEqual(armedMs(), nowMs + 11_000)
    }

    func testNoObservationBeforeStart() {
        center.post(name: .NSSystemTimeZoneDidChange, object: nil)
        XCTAssertEqual(engine.calls, [])
    }

    func testEveryWakeupSchedulerIsArmed() throws {
        let second = FakeWakeups()
        let both = DmScheduler(engine: engine!, wakeups: [wakeups!, second], notifications: center!,
                               now: { Date(timeIntervalSince1970: 1_767_225_600) })
        engine.wakeup = nowMs + 2_000
        try both.tick()
        XCTAssertEqual(armedMs(), nowMs + 2_000)
        XCTAssertEqual(second.armed[DmScheduler.defaultTaskIdentifier].map { Int64($0.timeIntervalSince1970 * 1000) },
                       nowMs + 2_000)
    }

    func testMillisRoundsDown() {
        XCTAssertEqual(DmScheduler.millis(Date(timeIntervalSince1970: 1.9999)), 1_999)
    }
}
