import Dmsched
import Foundation
#if canImport(Network)
import Network
#endif
#if canImport(UIKit) && os(iOS)
import UIKit
#endif

/// The state of the device's default network, as the engine's `network`
/// event carries it (`{"connected", "type", "metered"}`; `type` is `none`
/// when there is no network).
public struct NetworkState: Equatable, Sendable {
    public var connected: Bool
    /// `wifi`, `cellular`, `ethernet`, `loopback`, `other`; nil when unknown.
    public var type: String?
    /// Expensive (cellular, a hotspot); nil when unknown.
    public var metered: Bool?

    public init(connected: Bool, type: String? = nil, metered: Bool? = nil) {
        self.connected = connected
        self.type = type
        self.metered = metered
    }

    /// The event's fields as JSON (unknown values left out).
    public var fieldsJson: String {
        var fields: [String: Any] = ["connected": connected]
        if let kind = connected ? type : "none" { fields["type"] = kind }
        if let metered { fields["metered"] = metered }
        return jsonObject(fields)
    }
}

/// External power, as the engine's `charger` event carries it
/// (`{"plugged", "source"}`).
public struct PowerState: Equatable, Sendable {
    public var plugged: Bool
    /// `ac`, `usb`, `wireless` when the platform says; nil otherwise (iOS never does).
    public var source: String?

    public init(plugged: Bool, source: String? = nil) {
        self.plugged = plugged
        self.source = source
    }

    public var fieldsJson: String {
        var fields: [String: Any] = ["plugged": plugged]
        if let source { fields["source"] = source }
        return jsonObject(fields)
    }
}

func jsonObject(_ fields: [String: Any]) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]),
          let text = String(data: data, encoding: .utf8)
    else { return "{}" }
    return text
}

public extension DmScheduler {
    /// The default network changed: posts `network` when the state differs
    /// from the last one posted (a path monitor repeats itself), then
    /// re-arms. Returns the occurrences that finished.
    @discardableResult
    func networkChanged(_ state: NetworkState) throws -> [Firing] {
        guard deviceState.swapNetwork(state) else { return [] }
        do {
            return try postEvent(name: "network", fieldsJson: state.fieldsJson)
        } catch {
            deviceState.forgetNetwork() // post it again next time
            throw error
        }
    }

    /// External power changed: posts `charger` when it differs from the last
    /// state posted, then re-arms.
    @discardableResult
    func powerChanged(_ state: PowerState) throws -> [Firing] {
        guard deviceState.swapPower(state) else { return [] }
        do {
            return try postEvent(name: "charger", fieldsJson: state.fieldsJson)
        } catch {
            deviceState.forgetPower()
            throw error
        }
    }
}

/// The last device states posted, so repeats are not posted again.
final class DeviceState: @unchecked Sendable {
    private let lock = NSLock()
    private var network: NetworkState?
    private var power: PowerState?

    /// True (and remembered) when `state` is new.
    func swapNetwork(_ state: NetworkState) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if network == state { return false }
        network = state
        return true
    }

    func forgetNetwork() {
        lock.lock(); defer { lock.unlock() }
        network = nil
    }

    func swapPower(_ state: PowerState) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if power == state { return false }
        power = state
        return true
    }

    func forgetPower() {
        lock.lock(); defer { lock.unlock() }
        power = nil
    }
}

#if canImport(Network)
/// Feeds `network` events from `NWPathMonitor` (Apple platforms; not built
/// on Linux, where the host calls `DmScheduler.networkChanged` itself).
public final class NetworkMonitor {
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "org.dmsched.network")

    public init() {}

    public func start(feeding scheduler: DmScheduler) {
        monitor.pathUpdateHandler = { [weak scheduler] path in
            _ = try? scheduler?.networkChanged(NetworkMonitor.state(of: path))
        }
        monitor.start(queue: queue)
    }

    public func stop() {
        monitor.cancel()
    }

    static func state(of path: NWPath) -> NetworkState {
        guard path.status == .satisfied else { return NetworkState(connected: false) }
        let type: String = if path.usesInterfaceType(.wifi) {
            "wifi"
        } else if path.usesInterfaceType(.cellular) {
            "cellular"
        } else if path.usesInterfaceType(.wiredEthernet) {
            "ethernet"
        } else {
            "other"
        }
        return NetworkState(connected: true, type: type, metered: path.isExpensive)
    }
}
#endif

#if canImport(UIKit) && os(iOS)
/// Feeds `charger` events from the battery state notifications (iOS).
public final class PowerMonitor {
    private var token: NSObjectProtocol?

    public init() {}

    @MainActor
    public func start(feeding scheduler: DmScheduler) {
        UIDevice.current.isBatteryMonitoringEnabled = true
        let post = { [weak scheduler] in
            let s = UIDevice.current.batteryState
            _ = try? scheduler?.powerChanged(PowerState(plugged: s == .charging || s == .full))
        }
        post()
        token = NotificationCenter.default.addObserver(
            forName: UIDevice.batteryStateDidChangeNotification, object: nil, queue: .main
        ) { _ in Task { @MainActor in post() } }
    }
}
#endif
