import Foundation
import Testing
import UsherCore
import UsherCrypto
import UsherNIO
@testable import UsherServer

/// Invalid key rings on disk are refused by the store, and a running server's `KeyReloader` keeps the last good keys.
@Suite struct SigningKeyReloadTests {
    static let corruptRings = [
        "", "{ not json", "{}", #"[{"kid":"a"}]"#,
        #"[{"kid":"a","alg":"ES256","status":"active","created":"2024-01-01T00:00:00Z"},"#
            + #"{"kid":"b","alg":"ES256","status":"active","created":"2024-01-01T00:00:00Z"}]"#,
        #"[{"kid":"../x","alg":"ES256","status":"active","created":"2024-01-01T00:00:00Z"}]"#,
        #"[{"kid":"a","alg":"none","status":"active","created":"2024-01-01T00:00:00Z"}]"#,
        #"[{"kid":"a","alg":"ES256","status":"sleeping","created":"2024-01-01T00:00:00Z"}]"#,
    ]

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    @Test("a corrupt keyring.json is an error naming the file, and reload keeps the previous keys", arguments: corruptRings)
    func corruptRing(text: String) throws {
        let capture = LogCapture()
        let server = try TokenServer(logger: capture.logger)
        defer { server.keys.remove() }
        let before = server.current
        try Self.write(text, to: server.keys.path + "/signing/keyring.json")
        let error = #expect(throws: ServerError.keyDirectory) { try server.signing.load(now: Date()) }
        #expect(error?.message.contains("keyring.json") == true || error?.message.contains("key ring") == true, "\(error?.message ?? "")")
        server.reloader.reload()
        #expect(server.current.ring == before.ring && server.current.jwks == before.jwks)
        #expect(server.current.signer?.key.kid == before.ring.active?.kid)
        #expect(capture.all.contains { $0.contains("keeping the previous keys") }, "\(capture.all)")
    }

    @Test("a missing or unreadable PEM of a verifying key is refused; reload keeps the previous keys")
    func missingPEM() throws {
        let server = try TokenServer()
        defer { server.keys.remove() }
        let before = server.current
        let kid = try #require(before.ring.active?.kid)
        let pem = server.keys.path + "/signing/\(kid).pem"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pem)
        #expect(throws: ServerError.keyDirectory) { try server.signing.load(now: Date()) }
        try FileManager.default.removeItem(atPath: pem)
        #expect(throws: ServerError.keyDirectory) { try server.signing.load(now: Date()) }
        server.reloader.reload()
        #expect(server.current.ring == before.ring && server.current.signer?.key.kid == kid)
    }

    @Test("a group-readable keyring.json is refused")
    func readableRing() throws {
        let server = try TokenServer()
        defer { server.keys.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: server.keys.path + "/signing/keyring.json")
        let error = #expect(throws: ServerError.keyDirectory) { try server.signing.loadRing() }
        #expect(error?.message.contains("chmod 600") == true)
    }

    @Test("a garbage PEM under a listed kid is refused; reload keeps the previous keys")
    func garbagePEM() throws {
        let server = try TokenServer()
        defer { server.keys.remove() }
        let kid = try #require(server.current.ring.active?.kid)
        try Self.write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", to: server.keys.path + "/signing/\(kid).pem")
        let error = #expect(throws: ServerError.keyDirectory) { try server.signing.load(now: Date()) }
        #expect(error?.message.contains(kid) == true)
        server.reloader.reload()
        #expect(server.current.signer?.key.kid == kid)
    }

    @Test("reload after a valid rotation swaps in the new signer and keeps the old key verifying")
    func reloadPicksUpRotation() throws {
        let server = try TokenServer()
        defer { server.keys.remove() }
        let old = try #require(server.current.ring.active)
        let new = try server.rotate(.rs256)
        #expect(server.current.signer?.key.kid == new.kid && server.current.signer?.key.algorithm == .rs256)
        #expect(Set(server.current.verificationKeys.compactMap(\.kid)) == [old.kid, new.kid])
        // After a bad write the server still serves this ring; after repair, it serves the repaired one.
        let ring = server.keys.path + "/signing/keyring.json"
        let good = try String(contentsOfFile: ring, encoding: .utf8)
        try Self.write("[", to: ring)
        server.reloader.reload()
        #expect(server.current.signer?.key.kid == new.kid)
        try Self.write(good, to: ring)
        let newest = try server.rotate(.edDSA)
        #expect(server.current.signer?.key.kid == newest.kid)
    }

    @Test("a corrupt app file also keeps the previous keys and apps")
    func corruptAppFile() throws {
        let server = try TokenServer()
        defer { server.keys.remove() }
        let kid = try #require(server.current.ring.active?.kid)
        try Self.write("{", to: server.keys.path + "/apps/3.json")
        try server.signing.rotate(algorithm: .es256, overlap: .seconds(60), now: Date())
        server.reloader.reload()
        #expect(server.current.signer?.key.kid == kid)
        #expect((try? server.components.registry.current.select(key: Fixtures.appKey, id: nil)) != nil)
    }

    @Test("a retirement that passes with no file change leaves the served JWKS and stops verifying (no reload needed)")
    func retirementWithoutReload() throws {
        try SigningKeyStoreTests.withStore { store, _ in
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))  // keyring.json keeps whole seconds
            let old = try store.rotate(algorithm: .es256, overlap: .seconds(1), now: now - 100)
            let new = try store.rotate(algorithm: .es256, overlap: .seconds(60), now: now - 90)
            // Loaded as a server loaded it 50 s ago, while `old` (retiring at now - 30) still verified.
            let loaded = try store.load(now: now - 50)
            #expect(loaded.verificationKeys.map(\.kid) == [old.kid, new.kid] && loaded.jwks.contains(old.kid))
            #expect(loaded.verificationKeys(at: now - 30.001).count == 2 && loaded.verificationKeys(at: now - 30).map(\.kid) == [new.kid])
            #expect(loaded.refreshed(at: now - 31).jwks == loaded.jwks)
            let served = SigningKeysBox(loaded).current
            #expect(served.verificationKeys.map(\.kid) == [new.kid] && served.signer?.key.kid == new.kid)
            #expect(!served.jwks.contains(old.kid) && served.nextRetirement == nil)
        }
    }

    @Test("the key directory fingerprint changes on every rotation, so polling notices it")
    func fingerprint() throws {
        let server = try TokenServer()
        defer { server.keys.remove() }
        let before = DirectoryFingerprint(path: server.keys.path)
        #expect(DirectoryFingerprint(path: server.keys.path) == before)
        try server.signing.rotate(algorithm: .es256, overlap: .seconds(60), now: Date())
        #expect(DirectoryFingerprint(path: server.keys.path) != before)
    }
}
