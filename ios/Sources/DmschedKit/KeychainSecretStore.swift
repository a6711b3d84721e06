// The agent's DM account secrets (passwords, HMAC secrets, nonces) in the
// iOS/macOS Keychain: one generic-password item per key under one service,
// readable after the first unlock (background sessions after a reboot) and
// never in a backup or on another device. Pass it to `Agent.open(…,
// secrets:)`; secrets the agent kept before in `dmsched.db.secrets` move
// here at that open.
//
// Verified here: nothing — Linux has no Security framework, so this file
// compiles to nothing in `make swift-test`; the store protocol it
// implements is tested with a dictionary (Tests/DmschedTests/AgentSecretsTests).
#if canImport(Security)
import Dmsched
import Foundation
import Security

public final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    private let service: String
    private let accessGroup: String?

    /// Items under `service` (one per app, or per agent state directory),
    /// in `accessGroup` when an app group shares them.
    public init(service: String = "org.dmsched.secrets", accessGroup: String? = nil) {
        self.service = service
        self.accessGroup = accessGroup
    }

    private func query(_ key: String? = nil) -> [String: Any] {
        var q: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
        ]
        if let key { q[kSecAttrAccount as String] = key }
        if let accessGroup { q[kSecAttrAccessGroup as String] = accessGroup }
        return q
    }

    private func failure(_ what: String, _ status: OSStatus) -> HostError {
        let text = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
        return HostError.Failed(reason: "Keychain \(what): \(text)")
    }

    public func get(key: String) throws -> Data? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &out)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = out as? Data else { throw failure("read", status) }
        return data
    }

    public func put(key: String, value: Data) throws {
        let attributes: [String: Any] = [
            kSecValueData as String: value,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        var status = SecItemUpdate(query(key) as CFDictionary, attributes as CFDictionary)
        if status == errSecItemNotFound {
            let item = query(key).merging(attributes) { _, new in new }
            status = SecItemAdd(item as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw failure("write", status) }
    }

    public func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw failure("delete", status) }
    }

    public func keys() throws -> [String] {
        var q = query()
        q[kSecReturnAttributes as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitAll
        var out: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &out)
        if status == errSecItemNotFound { return [] }
        guard status == errSecSuccess, let items = out as? [[String: Any]] else { throw failure("list", status) }
        return items.compactMap { $0[kSecAttrAccount as String] as? String }
    }
}
#endif
