// The scheduler's log: `os.Logger` (unified logging, os_log) where the `os`
// module exists (Apple platforms); elsewhere (Linux, where the package is
// compiled and tested) a stand-in with the same call shape that writes
// warnings and errors to standard error, so that DmScheduler's code is the
// same on both.
#if canImport(os)
import os

typealias SchedulerLog = Logger
#else
import Foundation

/// How a value may appear in the log; only the call shape of `os.Logger`'s
/// `privacy:` argument (everything the scheduler logs is `.public`).
enum SchedulerLogPrivacy {
    case `public`
    case `private`
}

/// A message built by string interpolation, accepting the `privacy:` label
/// that `os.Logger` messages take; private values are redacted.
struct SchedulerLogMessage: ExpressibleByStringInterpolation {
    struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity)
        }
        mutating func appendLiteral(_ literal: String) {
            text += literal
        }
        mutating func appendInterpolation<T>(_ value: T, privacy: SchedulerLogPrivacy = .private) {
            text += privacy == .public ? String(describing: value) : "<private>"
        }
    }

    let text: String
    init(stringLiteral value: String) {
        text = value
    }
    init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
    }
}

/// `os.Logger`'s shape for platforms without it: errors and warnings go to
/// standard error; info and debug are dropped, as the unified log does by
/// default.
struct SchedulerLog {
    let prefix: String
    init(subsystem: String, category: String) {
        prefix = "\(subsystem)[\(category)]"
    }
    func error(_ message: SchedulerLogMessage) {
        write("error", message)
    }
    func warning(_ message: SchedulerLogMessage) {
        write("warning", message)
    }
    func info(_: SchedulerLogMessage) {}
    func debug(_: SchedulerLogMessage) {}

    private func write(_ level: String, _ message: SchedulerLogMessage) {
        FileHandle.standardError.write(Data("\(prefix) \(level): \(message.text)\n".utf8))
    }
}
#endif
