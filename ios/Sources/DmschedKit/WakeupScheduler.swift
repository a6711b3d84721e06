import Dispatch
import Foundation
#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
#endif

/// One run granted by a `WakeupScheduler` (a `BGTask` on iOS).
public protocol BackgroundRun: AnyObject {
    /// Called by the system when the granted time is about to end.
    var expirationHandler: (() -> Void)? { get set }
    /// Tells the system the work is done.
    func complete(success: Bool)
}

/// Something that wakes the app at (or after) an instant: BGTaskScheduler on
/// iOS, an in-process timer while the app runs, a fake in tests.
///
/// `DmScheduler` keeps exactly one request per identifier armed: `arm`
/// replaces any earlier request with that identifier.
public protocol WakeupScheduler: AnyObject {
    /// Registers what runs when a request with `identifier` fires. Call once,
    /// before the app finishes launching. False if the system refused.
    func register(identifier: String, handler: @escaping (BackgroundRun) -> Void) -> Bool
    /// Asks for one run of `identifier` not before `earliest`, replacing any
    /// pending one.
    func arm(identifier: String, earliest: Date) throws
    /// Withdraws the pending request of `identifier`, if any.
    func cancel(identifier: String)
}

#if canImport(BackgroundTasks) && os(iOS)
/// `WakeupScheduler` on `BGTaskScheduler.shared` with `BGAppRefreshTaskRequest`.
///
/// The identifier must be listed under `BGTaskSchedulerPermittedIdentifiers`
/// in Info.plist and the app needs the `fetch` background mode
/// (`UIBackgroundModes`). The system decides when to run: never before
/// `earliest`, often later, and not at all for an app the user force-quit.
public final class BGTaskSchedulerWakeups: WakeupScheduler {
    private let scheduler: BGTaskScheduler
    private let queue: DispatchQueue

    /// Launch handlers run on `queue` (a private serial queue by default).
    public init(
        scheduler: BGTaskScheduler = .shared,
        queue: DispatchQueue = DispatchQueue(label: "org.dmsched.bgtask")
    ) {
        self.scheduler = scheduler
        self.queue = queue
    }

    public func register(identifier: String, handler: @escaping (BackgroundRun) -> Void) -> Bool {
        scheduler.register(forTaskWithIdentifier: identifier, using: queue) { task in
            handler(BGTaskRun(task))
        }
    }

    public func arm(identifier: String, earliest: Date) throws {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = earliest
        try scheduler.submit(request)
    }

    public func cancel(identifier: String) {
        scheduler.cancel(taskRequestWithIdentifier: identifier)
    }
}

/// A `BGTask` as a `BackgroundRun`.
final class BGTaskRun: BackgroundRun {
    private let task: BGTask

    init(_ task: BGTask) {
        self.task = task
    }

    var expirationHandler: (() -> Void)? {
        get { task.expirationHandler }
        set { task.expirationHandler = newValue }
    }

    func complete(success: Bool) {
        task.setTaskCompleted(success: success)
    }
}
#endif

/// `WakeupScheduler` with a dispatch timer: exact while the process runs
/// (in the foreground, or on macOS), nothing once it is suspended. Use it
/// next to `BGTaskSchedulerWakeups`, which covers the suspended app.
public final class ProcessTimerWakeups: WakeupScheduler {
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var handlers: [String: (BackgroundRun) -> Void] = [:]
    private var timers: [String: DispatchSourceTimer] = [:]

    /// Handlers run on `queue`.
    public init(queue: DispatchQueue = DispatchQueue(label: "org.dmsched.timer")) {
        self.queue = queue
    }

    deinit {
        for timer in timers.values {
            timer.cancel()
        }
    }

    public func register(identifier: String, handler: @escaping (BackgroundRun) -> Void) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        handlers[identifier] = handler
        return true
    }

    public func arm(identifier: String, earliest: Date) throws {
        lock.lock()
        defer { lock.unlock() }
        timers.removeValue(forKey: identifier)?.cancel()
        guard let handler = handlers[identifier] else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let delay = max(0, earliest.timeIntervalSinceNow)
        // Wall-clock deadline: a clock change moves it with the dates.
        timer.schedule(wallDeadline: .now() + delay, leeway: .seconds(1))
        timer.setEventHandler { handler(TimerRun()) }
        timers[identifier] = timer
        timer.resume()
    }

    public func cancel(identifier: String) {
        lock.lock()
        defer { lock.unlock() }
        timers.removeValue(forKey: identifier)?.cancel()
    }
}

/// A timer run: nothing to report back to a system.
final class TimerRun: BackgroundRun {
    var expirationHandler: (() -> Void)?
    func complete(success: Bool) {}
}
