import Foundation
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `keys/signing/`: private PEMs plus `keyring.json`, loaded once into signer, verification keys and JWKS.
@Suite struct SigningKeyStoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func withStore(_ body: (SigningKeyStore, TemporaryDirectory) throws -> Void) throws {
        let keys = TemporaryDirectory()
        defer { keys.remove() }
        try body(SigningKeyStore(directory: KeyDirectory(path: keys.path)), keys)
    }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    static func jwks(_ keys: SigningKeys) throws -> [[String: JSONValue]] {
        guard case .array(let entries)? = try JSONValue.parse(keys.jwks)["keys"] else { throw TokenTestError("no keys array") }
        return entries.compactMap { if case .object(let members) = $0 { members } else { nil } }
    }

    @Test("rotate writes a 0600 PEM and a 0600 keyring.json in a 0700 folder", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func rotateWritesPrivateFiles(alg: JWTAlgorithm) throws {
        try Self.withStore { store, keys in
            let record = try store.rotate(algorithm: alg, overlap: .seconds(60), now: Self.t0)
            #expect(record.status == .active && record.alg == alg && record.created == Self.t0 && SigningKeyRecord.isValidKID(record.kid))
            #expect(Self.mode(keys.path + "/signing/\(record.kid).pem") == 0o600)
            #expect(Self.mode(keys.path + "/signing/keyring.json") == 0o600)
            #expect(Self.mode(keys.path + "/signing") == 0o700)
            let pem = try String(contentsOfFile: keys.path + "/signing/\(record.kid).pem", encoding: .utf8)
            #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----") && !pem.contains("ENCRYPTED"))
            #expect(try store.loadRing().records == [record])
            let names = try FileManager.default.contentsOfDirectory(atPath: keys.path + "/signing")
            #expect(!names.contains { $0.hasPrefix(".tmp") }, "\(names)")
        }
    }

    @Test("keyring.json holds kid, alg, status, created and retire_at")
    func ringFileShape() throws {
        try Self.withStore { store, keys in
            let first = try store.rotate(algorithm: .es256, overlap: .seconds(60), now: Self.t0)
            try store.rotate(algorithm: .rs256, overlap: .seconds(60), now: Self.t0 + 1)
            let text = try String(contentsOfFile: keys.path + "/signing/keyring.json", encoding: .utf8)
            guard case .array(let entries) = try JSONValue.parse(text) else { throw TokenTestError("not an array") }
            #expect(entries.count == 2)
            #expect(entries[0]["kid"]?.stringValue == first.kid && entries[0]["status"]?.stringValue == "retiring")
            #expect(entries[0]["alg"]?.stringValue == "ES256" && entries[0]["retire_at"]?.stringValue == "2023-11-14T22:14:21Z")
            #expect(entries[1]["status"]?.stringValue == "active" && entries[1]["retire_at"] == nil)
            #expect(entries[1]["created"]?.stringValue == "2023-11-14T22:13:21Z")
        }
    }

    @Test("load parses the ring: the active key signs, active and retiring keys verify, kids are distinct")
    func load() throws {
        try Self.withStore { store, _ in
            let a = try store.rotate(algorithm: .es256, overlap: .seconds(600), now: Self.t0)
            let b = try store.rotate(algorithm: .edDSA, overlap: .seconds(600), now: Self.t0 + 1)
            #expect(a.kid != b.kid)
            let loaded = try store.load(now: Self.t0 + 2)
            #expect(loaded.ring == (try store.loadRing()))
            #expect(loaded.signer?.key.kid == b.kid && loaded.signer?.key.algorithm == .edDSA)
            #expect(loaded.verificationKeys.map(\.kid) == [a.kid, b.kid])
            #expect(loaded.nextRetirement == Self.t0 + 601)
            let later = try store.load(now: Self.t0 + 601)
            #expect(later.verificationKeys.map(\.kid) == [b.kid] && later.nextRetirement == nil)
        }
    }

    @Test("JWKS publishes active and retiring keys with their public members only", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func jwks(alg: JWTAlgorithm) throws {
        try Self.withStore { store, _ in
            let old = try store.rotate(algorithm: .es256, overlap: .seconds(600), now: Self.t0)
            let new = try store.rotate(algorithm: alg, overlap: .seconds(600), now: Self.t0 + 1)
            let entries = try Self.jwks(try store.load(now: Self.t0 + 2))
            #expect(entries.map { $0["kid"]?.stringValue } == [old.kid, new.kid])
            let members: Set<String> = switch alg {
            case .es256: ["kty", "crv", "x", "y"]
            case .rs256: ["kty", "n", "e"]
            default: ["kty", "crv", "x"]
            }
            let jwk = entries[1]
            #expect(Set(jwk.keys) == members.union(["kid", "alg", "use"]), "\(jwk.keys.sorted())")
            #expect(jwk["alg"]?.stringValue == alg.rawValue && jwk["use"]?.stringValue == "sig")
            switch alg {
            case .es256: #expect(jwk["kty"] == "EC" && jwk["crv"] == "P-256")
            case .rs256: #expect(jwk["kty"] == "RSA" && jwk["e"] == "AQAB" && (jwk["n"]?.stringValue?.count ?? 0) >= 342)
            default: #expect(jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519")
            }
            for entry in entries { #expect(["d", "p", "q", "dp", "dq", "qi", "k"].allSatisfy { entry[$0] == nil }) }
            #expect(try Self.jwks(try store.load(now: Self.t0 + 601)).map { $0["kid"]?.stringValue } == [new.kid])
        }
    }

    @Test("a token signed by the active key verifies with the JWKS as a relay reads it", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func tokenVerifiesWithJWKS(alg: JWTAlgorithm) throws {
        try Self.withStore { store, _ in
            try store.rotate(algorithm: alg, overlap: .seconds(600), now: Self.t0)
            let loaded = try store.load(now: Self.t0)
            let token = try #require(loaded.signer).sign(["sub": "u1", "exp": .integer(Int64(Self.t0.timeIntervalSince1970) + 60)])
            let published = try JWKSet.keys(fromJSON: loaded.jwks)
            #expect(try JWTVerifier(keys: published).verify(token, now: Self.t0).subject == "u1")
            #expect(try DecodedToken(token).header["alg"]?.stringValue == alg.rawValue)
        }
    }

    @Test("HS256 is refused as a signing key and the ring stays unchanged")
    func refusesHS256() throws {
        try Self.withStore { store, _ in
            try store.rotate(algorithm: .es256, overlap: .seconds(60), now: Self.t0)
            let before = try store.loadRing()
            #expect(throws: ServerError.keyDirectory) { try store.rotate(algorithm: .hs256, overlap: .seconds(60), now: Self.t0) }
            #expect(try store.loadRing() == before)
        }
    }

    @Test("prune deletes the PEMs of keys past retire_at and of retired keys, and keeps the others")
    func prune() throws {
        try Self.withStore { store, keys in
            // The overlap given to a rotation applies to the key it replaces: a retires at t0 + 61, b at t0 + 602.
            let a = try store.rotate(algorithm: .es256, overlap: .seconds(1), now: Self.t0)
            let b = try store.rotate(algorithm: .es256, overlap: .seconds(60), now: Self.t0 + 1)
            let c = try store.rotate(algorithm: .es256, overlap: .seconds(600), now: Self.t0 + 2)
            #expect(try store.prune(now: Self.t0 + 60).isEmpty)
            #expect(try store.prune(now: Self.t0 + 61) == [a.kid])
            #expect(!FileManager.default.fileExists(atPath: keys.path + "/signing/\(a.kid).pem"))
            try store.retire(b.kid, now: Self.t0 + 62)
            #expect(try store.load(now: Self.t0 + 62).verificationKeys.map(\.kid) == [c.kid])
            #expect(try store.prune(now: Self.t0 + 62) == [b.kid])
            #expect(!FileManager.default.fileExists(atPath: keys.path + "/signing/\(b.kid).pem"))
            #expect(FileManager.default.fileExists(atPath: keys.path + "/signing/\(c.kid).pem"))
            #expect(try store.loadRing().records.map(\.kid) == [c.kid])
            #expect(throws: ServerError.keyDirectory) { try store.retire("nope", now: Self.t0) }
        }
    }

    @Test("ensureActiveKey creates one ES256 key on first run and nothing after")
    func ensureActiveKey() throws {
        try Self.withStore { store, _ in
            try store.ensureActiveKey(now: Self.t0)
            try store.ensureActiveKey(now: Self.t0 + 1)
            let ring = try store.loadRing()
            #expect(ring.records.count == 1 && ring.active?.alg == .es256)
        }
    }

    @Test("concurrent rotations (as from several CLI runs) serialize under the lock: one active key, every PEM present")
    func concurrentRotations() throws {
        try Self.withStore { store, keys in
            try store.rotate(algorithm: .es256, overlap: .seconds(600), now: Self.t0)
            DispatchQueue.concurrentPerform(iterations: 8) { index in
                _ = try? SigningKeyStore(directory: KeyDirectory(path: keys.path))
                    .rotate(algorithm: index % 2 == 0 ? .es256 : .edDSA, overlap: .seconds(600), now: Self.t0 + 1)
            }
            let ring = try store.loadRing()
            #expect(ring.records.count == 9 && ring.records.filter { $0.status == .active }.count == 1)
            #expect(try store.load(now: Self.t0 + 2).verificationKeys.count == 9)
        }
    }
}
