import Dmsched
import Foundation
#if canImport(UIKit) && os(iOS)
import UIKit
#endif

/// Drives a dmsched engine on an Apple device: after every engine call it
/// arms one wake-up for the engine's next instant (or cancels it when there
/// is none), runs the engine when woken and arms again, and tells the engine
/// about time-zone and clock changes.
///
/// Calls are synchronous and serialised (the engine's host callbacks run on
/// the calling thread, inside the call). A host callback must not call back
/// into this scheduler or its engine.
///
/// ```swift
/// let engine = try Engine.open(settings: settings, tree: host, executor: host, reports: host,
///                              prompt: nil, authorizer: nil)
/// let scheduler = DmScheduler(engine: EngineDriver(engine),
///                             wakeups: [BGTaskSchedulerWakeups(), ProcessTimerWakeups()])
/// scheduler.start()            // in application(_:didFinishLaunchingWithOptions:)
/// try scheduler.submit(owner: "server-a", scheduleJson: json)
/// ```
public final class DmScheduler {
    /// The BGTaskScheduler identifier used unless another is given; list it
    /// under `BGTaskSchedulerPermittedIdentifiers` in Info.plist.
    public static let defaultTaskIdentifier = "org.dmsched.wakeup"

    /// Posted when the system clock is set: Foundation's
    /// `.NSSystemClockDidChange` on Apple platforms. swift-corelibs-foundation
    /// (Linux) does not declare it; there it is a name of the same raw value
    /// that the host posts itself.
    #if canImport(Darwin)
    public static let clockDidChangeNotification = Notification.Name.NSSystemClockDidChange
    #else
    public static let clockDidChangeNotification = Notification.Name("NSSystemClockDidChangeNotification")
    #endif

    /// The engine driven.
    public let engine: SchedulerEngine
    /// The identifier of the one armed request.
    public let taskIdentifier: String
    /// Told about every occurrence that finished, on the thread that ran it.
    public var onFirings: (([Firing]) -> Void)?
    /// The instant currently armed; nil when nothing is.
    public private(set) var armedWakeup: Date?

    private let wakeups: [WakeupScheduler]
    private let notifications: NotificationCenter
    private let now: () -> Date
    private let currentTimeZone: () -> String
    private let lock = NSRecursiveLock()
    private var observers: [NSObjectProtocol] = []
    private let log = SchedulerLog(subsystem: "org.dmsched", category: "scheduler")
    /// The network and power states last posted (DeviceEvents.swift).
    let deviceState = DeviceState()
    /// Where the `async` calls run: one at a time, off the caller's thread.
    let asyncQueue = DispatchQueue(label: "org.dmsched.scheduler")

    /// `now` and `currentTimeZone` are injectable for tests; by default the
    /// system clock and `TimeZone.current` (after resetting the cache).
    public init(
        engine: SchedulerEngine,
        wakeups: [WakeupScheduler],
        taskIdentifier: String = DmScheduler.defaultTaskIdentifier,
        notifications: NotificationCenter = .default,
        now: @escaping () -> Date = { Date() },
        currentTimeZone: @escaping () -> String = {
            NSTimeZone.resetSystemTimeZone()
            return TimeZone.current.identifier
        }
    ) {
        self.engine = engine
        self.wakeups = wakeups
        self.taskIdentifier = taskIdentifier
        self.notifications = notifications
        self.now = now
        self.currentTimeZone = currentTimeZone
    }

    deinit {
        for observer in observers {
            notifications.removeObserver(observer)
        }
    }

    /// Registers the wake-up handler, observes time-zone and clock changes,
    /// runs whatever is due and arms the next wake-up. Call once, before the
    /// app finishes launching (BGTaskScheduler requires registration then).
    public func start() {
        for wakeup in wakeups {
            let registered = wakeup.register(identifier: taskIdentifier) { [weak self] run in
                self?.handleWakeup(run)
            }
            if !registered {
                log.error("wake-up handler for \(self.taskIdentifier, privacy: .public) refused: is it in BGTaskSchedulerPermittedIdentifiers?")
            }
        }
        observe(.NSSystemTimeZoneDidChange) { scheduler in scheduler.timeZoneDidChange() }
        observe(Self.clockDidChangeNotification) { scheduler in scheduler.clockDidChange() }
        #if canImport(UIKit) && os(iOS)
        // Midnight, a carrier time update, a DST transition.
        observe(UIApplication.significantTimeChangeNotification) { scheduler in scheduler.clockDidChange() }
        #endif
        clockDidChange()
    }

    /// Verifies and stores a schedule for `owner`, then re-arms.
    @discardableResult
    public func submit(owner: String, scheduleJson: String) throws -> ScheduleSummary {
        try call("submit") { (engine: SchedulerEngine, ms: Int64) throws -> ScheduleSummary in try engine.submit(owner: owner, scheduleJson: scheduleJson, nowMs: ms) }
    }

    /// Runs what is due now, then re-arms.
    @discardableResult
    public func tick() throws -> [Firing] {
        try call("tick") { (engine: SchedulerEngine, ms: Int64) throws -> [Firing] in try engine.tick(nowMs: ms) }.reported(to: onFirings)
    }

    /// A device event (`fieldsJson`: a JSON object, or nil), then re-arms.
    @discardableResult
    public func postEvent(name: String, fieldsJson: String? = nil) throws -> [Firing] {
        try call("event") { (engine: SchedulerEngine, ms: Int64) throws -> [Firing] in try engine.postEvent(name: name, fieldsJson: fieldsJson, nowMs: ms) }
            .reported(to: onFirings)
    }

    /// DM-tree node `uri` changed, then re-arms.
    @discardableResult
    public func treeChanged(uri: String) throws -> [Firing] {
        try call("tree change") { (engine: SchedulerEngine, ms: Int64) throws -> [Firing] in try engine.treeChanged(uri: uri, nowMs: ms) }.reported(to: onFirings)
    }

    /// Tells the engine the device's zone is now `zone`, runs what became
    /// due, then re-arms.
    @discardableResult
    public func setTimeZone(_ zone: String) throws -> [Firing] {
        try call("time zone") { (engine: SchedulerEngine, ms: Int64) throws -> [Firing] in
            try engine.setTimeZone(zone: zone, nowMs: ms)
            return try engine.tick(nowMs: ms)
        }.reported(to: onFirings)
    }

    /// Re-arms from the engine's next wake-up after a change made directly
    /// on the engine (suspend, resume, terminate, modify).
    public func rearm() {
        lock.lock()
        defer { lock.unlock() }
        do {
            try armFromEngine()
        } catch {
            log.error("re-arm failed: \(String(describing: error), privacy: .public)")
        }
    }

    // MARK: - Internals

    /// One engine call, then re-arm, under the lock so that two threads
    /// cannot arm in the wrong order. The engine's error is rethrown; a
    /// failure to arm is logged (the engine state is fine, only the wake-up
    /// is late, and the next call arms again).
    private func call<T>(_ what: String, _ body: (SchedulerEngine, Int64) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let result: T
        do {
            result = try body(engine, Self.millis(now()))
        } catch {
            log.error("\(what, privacy: .public) failed: \(String(describing: error), privacy: .public)")
            rearmLogged()
            throw error
        }
        rearmLogged()
        return result
    }

    private func rearmLogged() {
        do {
            try armFromEngine()
        } catch {
            log.error("arming the wake-up failed: \(String(describing: error), privacy: .public)")
        }
    }

    private func armFromEngine() throws {
        guard let ms = try engine.nextWakeup() else {
            for wakeup in wakeups {
                wakeup.cancel(identifier: taskIdentifier)
            }
            if armedWakeup != nil {
                log.debug("nothing scheduled: wake-up cancelled")
            }
            armedWakeup = nil
            return
        }
        let at = Date(timeIntervalSince1970: TimeInterval(ms) / 1000)
        var firstError: Error?
        for wakeup in wakeups {
            do {
                try wakeup.arm(identifier: taskIdentifier, earliest: at)
            } catch {
                firstError = firstError ?? error
            }
        }
        armedWakeup = at
        log.debug("wake-up armed for \(ms, privacy: .public) ms")
        if let error = firstError {
            throw error
        }
    }

    private func handleWakeup(_ run: BackgroundRun) {
        // The engine call is short and cannot be interrupted half-way: on
        // expiry there is nothing to cancel, only the completion to report.
        run.expirationHandler = { [log] in log.info("background time expired") }
        do {
            let fired = try tick()
            log.info("woken: \(fired.count, privacy: .public) occurrence(s) finished")
            run.complete(success: true)
        } catch {
            run.complete(success: false)
        }
    }

    private func timeZoneDidChange() {
        let zone = currentTimeZone()
        log.info("time zone changed to \(zone, privacy: .public)")
        _ = try? setTimeZone(zone)
    }

    private func clockDidChange() {
        _ = try? tick()
    }

    private func observe(_ name: Notification.Name, _ action: @escaping (DmScheduler) -> Void) {
        let token = notifications.addObserver(forName: name, object: nil, queue: nil) { [weak self] _ in
            if let self {
                action(self)
            }
        }
        observers.append(token)
    }

    static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}

private extension Array where Element == Firing {
    func reported(to sink: (([Firing]) -> Void)?) -> [Firing] {
        if !isEmpty {
            sink?(self)
        }
        return self
    }
}
