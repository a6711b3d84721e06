import Dmsched
import Foundation

// The records an app forwards or stores (firings, reports, command results,
// DM reports) as `Encodable`, in the same snake_case JSON as the C ABI and
// the JNI bridge (`outcome` as its lower-case name), so an app can hand
// them to its own persistence or network layer with `JSONEncoder`.

extension Outcome: Encodable {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }

    /// The lower-case name the C ABI and JNI use (`ran`, `failed`, …).
    public var name: String {
        switch self {
        case .ran: "ran"
        case .failed: "failed"
        case .missed: "missed"
        case .skipped: "skipped"
        case .deferred: "deferred"
        case .interrupted: "interrupted"
        }
    }
}

extension CommandResult: Encodable {
    enum Keys: String, CodingKey { case op, target, status, data }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(op, forKey: .op)
        try c.encode(target, forKey: .target)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(data, forKey: .data)
    }
}

extension Firing: Encodable {
    enum Keys: String, CodingKey {
        case owner, schedule, task, seq, outcome, reason, attempts, results
        case dueMs = "due_ms", runAtMs = "run_at_ms"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(owner, forKey: .owner)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(task, forKey: .task)
        try c.encode(seq, forKey: .seq)
        try c.encode(dueMs, forKey: .dueMs)
        try c.encodeIfPresent(runAtMs, forKey: .runAtMs)
        try c.encode(outcome, forKey: .outcome)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(results, forKey: .results)
    }
}

extension Report: Encodable {
    enum Keys: String, CodingKey {
        case id, firing
        case reportId = "report_id", createdMs = "created_ms"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(reportId, forKey: .reportId)
        try c.encode(createdMs, forKey: .createdMs)
        try c.encode(firing, forKey: .firing)
    }
}

extension MoReport: Encodable {
    enum Keys: String, CodingKey {
        case id, owner, source, mark, data, evicted
        case metaType = "meta_type", reportId = "report_id", createdMs = "created_ms"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode(owner, forKey: .owner)
        try c.encode(source, forKey: .source)
        try c.encode(metaType, forKey: .metaType)
        try c.encode(mark, forKey: .mark)
        try c.encode(data, forKey: .data)
        try c.encode(reportId, forKey: .reportId)
        try c.encode(createdMs, forKey: .createdMs)
        try c.encode(evicted, forKey: .evicted)
    }
}
