import Dmsched

/// The part of the engine that `DmScheduler` drives.
///
/// A narrow protocol of its own, not the generated `EngineProtocol`: the
/// generated one grows with every exported method, which would break every
/// conformer (and the test fakes) each time. `EngineDriver` adapts the real
/// `Engine`; tests use fakes.
public protocol SchedulerEngine: AnyObject {
    /// The earliest instant (Unix ms) at which `tick` has work; nil when none.
    func nextWakeup() throws -> Int64?
    /// Runs everything due at `nowMs`; returns the occurrences that finished.
    func tick(nowMs: Int64) throws -> [Firing]
    /// Verifies and stores a schedule document for server `owner`.
    func submit(owner: String, scheduleJson: String, nowMs: Int64) throws -> ScheduleSummary
    /// A device event; `fieldsJson` is a JSON object of its fields, or nil.
    func postEvent(name: String, fieldsJson: String?, nowMs: Int64) throws -> [Firing]
    /// DM-tree node `uri` changed.
    func treeChanged(uri: String, nowMs: Int64) throws -> [Firing]
    /// The device's IANA time zone changed to `zone`.
    func setTimeZone(zone: String, nowMs: Int64) throws
}

/// Adapts the generated `Engine` to `SchedulerEngine` by forwarding each
/// call, so that additions to `Engine` (new methods, new defaulted
/// parameters, a result added to a method that returned nothing) need no
/// change here.
public final class EngineDriver: SchedulerEngine {
    /// The engine driven. Use it directly for everything else (`get`,
    /// `list`, `suspend`, `pendingReports`, `shutdown` …).
    public let engine: Engine

    /// Wraps `engine`.
    public init(_ engine: Engine) {
        self.engine = engine
    }

    public func nextWakeup() throws -> Int64? {
        try engine.nextWakeup()
    }

    public func tick(nowMs: Int64) throws -> [Firing] {
        try engine.tick(nowMs: nowMs)
    }

    public func submit(owner: String, scheduleJson: String, nowMs: Int64) throws -> ScheduleSummary {
        try engine.submit(owner: owner, scheduleJson: scheduleJson, nowMs: nowMs)
    }

    public func postEvent(name: String, fieldsJson: String?, nowMs: Int64) throws -> [Firing] {
        try engine.postEvent(name: name, fieldsJson: fieldsJson, nowMs: nowMs)
    }

    public func treeChanged(uri: String, nowMs: Int64) throws -> [Firing] {
        try engine.treeChanged(uri: uri, nowMs: nowMs)
    }

    public func setTimeZone(zone: String, nowMs: Int64) throws {
        // `_ =` keeps this compiling whether the binding returns nothing or
        // the firings the change produced.
        _ = try engine.setTimeZone(zone: zone, nowMs: nowMs)
    }
}
