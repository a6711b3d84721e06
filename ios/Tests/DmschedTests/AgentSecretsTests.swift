// Issue 14 (secrets), 6.1.1.2.1: an Agent given a SecretStore (the iOS
// Keychain in an app; a dictionary here) keeps its accounts' passwords and
// nonces there and writes no `dmsched.db.secrets`; a store that throws
// fails provisioning with its reason and leaves nothing behind; a reopened
// agent finds its secrets again; the host's own keys are never touched.
// Mirrors testAgentKeepsSecretsInTheHostsStore in the Kotlin suite.
import Dmsched
import Foundation
import XCTest

/// A host's secret store in memory.
final class DictionarySecrets: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var map: [String: Data] = ["the-hosts-own-key": Data("kept".utf8)]
    private var _failing: String?

    var failing: String? {
        get { lock.lock(); defer { lock.unlock() }; return _failing }
        set { lock.lock(); defer { lock.unlock() }; _failing = newValue }
    }

    func holds(_ text: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return map.values.contains(Data(text.utf8))
    }

    func value(_ key: String) -> Data? {
        lock.lock(); defer { lock.unlock() }
        return map[key]
    }

    func get(key: String) throws -> Data? {
        lock.lock(); defer { lock.unlock() }
        return map[key]
    }

    func put(key: String, value: Data) throws {
        lock.lock(); defer { lock.unlock() }
        if let reason = _failing {
            throw HostError.Failed(reason: reason)
        }
        map[key] = value
    }

    func delete(key: String) throws {
        lock.lock(); defer { lock.unlock() }
        map[key] = nil
    }

    func keys() throws -> [String] {
        lock.lock(); defer { lock.unlock() }
        return Array(map.keys)
    }
}

final class AgentSecretsTests: XCTestCase {
    func account(_ serverId: String) -> String {
        """
        {"server_id": "\(serverId)", "server_url": "https://127.0.0.1:1/dm",
         "client": {"auth": "DIGEST", "name": "dev", "secret": "client-pw-3e9a", "nonce": "YzA="},
         "server": {"auth": "DIGEST", "secret": "server-pw-71c0", "nonce": "czA="}}
        """
    }

    func testAnAgentKeepsAccountSecretsInTheHostsStore() throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("dmsched-swift-secrets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let settings = AgentSettings(stateDir: dir.path, device: DeviceFacts(devId: "IMEI:swift"))
        let store = DictionarySecrets()

        let agent = try Agent.open(settings: settings, nowMs: t0, secrets: store)
        XCTAssertEqual(try agent.provision(accountJson: account("srv"), nowMs: t0), "srv")
        XCTAssertTrue(store.holds("client-pw-3e9a") && store.holds("server-pw-71c0"), "both passwords in the host's store")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("dmsched.db.secrets").path))
        let db = try Data(contentsOf: dir.appendingPathComponent("dmsched.db"))
        XCTAssertNil(db.range(of: Data("client-pw-3e9a".utf8)), "no password in the database")

        store.failing = "keychain locked"
        let reason = assertDmschedError("a throwing store", {
            _ = try agent.provision(accountJson: account("other"), nowMs: t0)
        }) { if case let .Storage(m) = $0 { return m } else { return nil } }
        XCTAssertTrue(reason?.contains("keychain locked") == true, "the store's reason: \(reason ?? "")")
        store.failing = nil
        XCTAssertEqual(try agent.provision(accountJson: account("other"), nowMs: t0), "other",
                       "nothing of the failed provisioning was left")
        agent.shutdown()

        // Reopened with the same store: the accounts are there (provisioning
        // again is refused), and their secrets still resolve.
        let again = try Agent.open(settings: settings, nowMs: t0 + minute, secrets: store)
        assertDmschedError("provisioned before", { _ = try again.provision(accountJson: account("srv"), nowMs: t0) }) {
            if case let .AlreadyExists(m) = $0 { return m } else { return nil }
        }
        // A session reads the account's secrets before it connects: with them
        // resolved it gets as far as the (absent) server.
        let refused = assertDmschedError("no server there", { _ = try again.runSession(serverId: "srv", notification: nil, nowMs: t0 + minute) }) {
            if case let .Transport(m) = $0 { return m } else { return nil }
        }
        XCTAssertFalse(refused?.contains("secret") ?? true, "not a secret-store failure: \(refused ?? "")")
        XCTAssertEqual(store.value("the-hosts-own-key"), Data("kept".utf8), "the host's own key kept")
        again.shutdown()
    }
}
