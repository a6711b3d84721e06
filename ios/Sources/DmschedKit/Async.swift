import Dmsched
import Foundation

/// Swift concurrency over the synchronous engine: each call runs on the
/// scheduler's serial queue, off the caller's thread (an actor or the main
/// thread never blocks on the engine's lock or a long executor), and
/// resumes the caller with its result or error.
public extension DmScheduler {
    /// `tick()` without blocking the caller.
    @discardableResult
    func tick() async throws -> [Firing] {
        try await run { try $0.tick() }
    }

    /// `postEvent(name:fieldsJson:)` without blocking the caller.
    @discardableResult
    func postEvent(name: String, fieldsJson: String? = nil) async throws -> [Firing] {
        try await run { try $0.postEvent(name: name, fieldsJson: fieldsJson) }
    }

    /// `submit(owner:scheduleJson:)` without blocking the caller.
    @discardableResult
    func submit(owner: String, scheduleJson: String) async throws -> ScheduleSummary {
        try await run { try $0.submit(owner: owner, scheduleJson: scheduleJson) }
    }

    /// Submits a schedule document given as any `Encodable` (the schedule
    /// format's snake_case keys: name the properties so, or give `CodingKeys`).
    @discardableResult
    func submit<Document: Encodable>(owner: String, document: Document) throws -> ScheduleSummary {
        try submit(owner: owner, scheduleJson: Self.json(document))
    }

    /// The same, without blocking the caller.
    @discardableResult
    func submit<Document: Encodable>(owner: String, document: Document) async throws -> ScheduleSummary {
        let json = try Self.json(document)
        return try await run { try $0.submit(owner: owner, scheduleJson: json) }
    }

    static func json<Document: Encodable>(_ document: Document) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(document)
        return String(decoding: data, as: UTF8.self)
    }

    private func run<T>(_ body: @escaping (DmScheduler) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, Error>) in
            asyncQueue.async {
                k.resume(with: Result { try body(self) })
            }
        }
    }
}

/// A long action's completion without blocking the caller: the engine
/// call runs on a background queue. `complete(runId:results:nowMs:)` on the
/// `Engine` or `Agent` is the synchronous form.
public extension Engine {
    func complete(runId: Int64, results: [CommandResult], nowMs: Int64) async throws -> [Firing] {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<[Firing], Error>) in
            DispatchQueue.global().async {
                k.resume(with: Result { try self.complete(runId: runId, results: results, nowMs: nowMs) })
            }
        }
    }
}

public extension Agent {
    /// A DM session without blocking the caller (sessions are network
    /// round trips).
    func runSession(serverId: String, notification: AcceptedNotification? = nil, nowMs: Int64) async throws -> SessionSummary {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<SessionSummary, Error>) in
            DispatchQueue.global().async {
                k.resume(with: Result { try self.runSession(serverId: serverId, notification: notification, nowMs: nowMs) })
            }
        }
    }

    /// Report delivery without blocking the caller.
    func deliverReports(nowMs: Int64) async throws -> [Delivery] {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<[Delivery], Error>) in
            DispatchQueue.global().async {
                k.resume(with: Result { try self.deliverReports(nowMs: nowMs) })
            }
        }
    }
}
