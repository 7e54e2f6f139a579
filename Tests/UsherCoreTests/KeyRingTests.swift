import Foundation
import Testing
import UsherCore
import UsherCrypto

/// The key ring's rules without I/O: one active signer, retiring keys verifying until `retire_at`, retire and prune.
@Suite struct KeyRingTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func record(_ kid: String, _ status: SigningKeyRecord.Status, retireAt: Date? = nil) -> SigningKeyRecord {
        SigningKeyRecord(kid: kid, alg: .es256, status: status, created: t0, retireAt: retireAt)
    }

    /// A ring rotated to `a` at t0, then to `b` at t0 + 10 s with a one-hour overlap.
    static func rotatedTwice() throws -> KeyRing {
        var ring = try KeyRing(records: [])
        try ring.rotate(to: "a", alg: .es256, now: t0, overlap: .seconds(3600))
        try ring.rotate(to: "b", alg: .rs256, now: t0 + 10, overlap: .seconds(3600))
        return ring
    }

    @Test("the first rotation makes the only, active key")
    func firstRotation() throws {
        var ring = try KeyRing(records: [])
        #expect(ring.active == nil && ring.verifying(at: Self.t0).isEmpty)
        try ring.rotate(to: "a", alg: .edDSA, now: Self.t0, overlap: .seconds(60))
        #expect(ring.records == [SigningKeyRecord(kid: "a", alg: .edDSA, status: .active, created: Self.t0)])
        #expect(ring.active?.kid == "a")
    }

    @Test("rotate leaves exactly one active key and the previous one retiring until now + overlap")
    func rotate() throws {
        let ring = try Self.rotatedTwice()
        #expect(ring.records.filter { $0.status == .active }.map(\.kid) == ["b"])
        #expect(ring.active == SigningKeyRecord(kid: "b", alg: .rs256, status: .active, created: Self.t0 + 10))
        let a = try #require(ring.records.first { $0.kid == "a" })
        #expect(a.status == .retiring && a.retireAt == Self.t0 + 10 + 3600 && a.alg == .es256)
    }

    @Test("retire_at is rounded up to a whole second, so storing whole seconds never shortens the overlap")
    func retireAtRoundedUp() throws {
        var ring = try KeyRing(records: [])
        try ring.rotate(to: "a", alg: .es256, now: Self.t0, overlap: .seconds(60))
        try ring.rotate(to: "b", alg: .es256, now: Self.t0 + 0.25, overlap: .seconds(60))
        #expect(ring.records[0].retireAt == Self.t0 + 61)
    }

    @Test("a third rotation keeps the earlier retiring key's retire_at and retires the second key")
    func rotateThrice() throws {
        var ring = try Self.rotatedTwice()
        try ring.rotate(to: "c", alg: .es256, now: Self.t0 + 20, overlap: .seconds(7200))
        #expect(ring.records.map(\.status) == [.retiring, .retiring, .active])
        #expect(ring.records.map(\.retireAt) == [Self.t0 + 3610, Self.t0 + 7220, nil])
        #expect(ring.records.filter { $0.status == .active }.count == 1)
    }

    @Test("a retiring key verifies strictly before its retire_at and not from it on")
    func verifyingBoundaries() throws {
        let ring = try Self.rotatedTwice()
        let retireAt = Self.t0 + 3610
        #expect(ring.verifying(at: Self.t0 + 10).map(\.kid) == ["a", "b"])
        #expect(ring.verifying(at: retireAt - 0.001).map(\.kid) == ["a", "b"])
        #expect(ring.verifying(at: retireAt).map(\.kid) == ["b"])
        #expect(ring.verifying(at: retireAt + 86_400 * 365).map(\.kid) == ["b"])
    }

    @Test("a retiring record without retire_at never verifies; a retired one never does")
    func statusRules() {
        #expect(!Self.record("x", .retiring).verifies(at: Self.t0))
        #expect(!Self.record("x", .retired, retireAt: Self.t0 + 100).verifies(at: Self.t0))
        #expect(Self.record("x", .active).verifies(at: .distantFuture))
    }

    @Test("retire stops a retiring key now, keeping an earlier retire_at")
    func retire() throws {
        var ring = try Self.rotatedTwice()
        try ring.retire("a", now: Self.t0 + 100)
        #expect(ring.records[0].status == .retired && ring.records[0].retireAt == Self.t0 + 100)
        #expect(ring.verifying(at: Self.t0 + 100).map(\.kid) == ["b"])
        try ring.retire("a", now: Self.t0 + 500)
        #expect(ring.records[0].retireAt == Self.t0 + 100)
    }

    @Test("retiring the active key leaves the ring without a signer")
    func retireActive() throws {
        var ring = try Self.rotatedTwice()
        try ring.retire("b", now: Self.t0 + 100)
        #expect(ring.active == nil)
        #expect(ring.verifying(at: Self.t0 + 100).map(\.kid) == ["a"])
    }

    @Test("retire refuses an unknown kid and leaves the ring unchanged")
    func retireUnknown() throws {
        var ring = try Self.rotatedTwice()
        let before = ring
        let error = #expect(throws: CoreError.invalidKeyRing) { try ring.retire("zz", now: Self.t0) }
        #expect(error?.message.contains("zz") == true)
        #expect(ring == before)
    }

    @Test("prune drops retired keys and retiring keys past retire_at, and nothing else")
    func prune() throws {
        var ring = try Self.rotatedTwice()
        try ring.rotate(to: "c", alg: .es256, now: Self.t0 + 20, overlap: .seconds(7200))
        #expect(ring.prune(now: Self.t0 + 3609).isEmpty)
        #expect(ring.prune(now: Self.t0 + 3610) == ["a"])
        #expect(ring.records.map(\.kid) == ["b", "c"])
        try ring.retire("b", now: Self.t0 + 3700)
        #expect(ring.prune(now: Self.t0 + 3700) == ["b"])
        #expect(ring.records.map(\.kid) == ["c"] && ring.active?.kid == "c")
        #expect(ring.prune(now: .distantFuture).isEmpty)
    }

    @Test("rotate refuses invalid and duplicate kids without changing the ring", arguments: [
        "", "a/b", "../x", "a b", "ä", "a.pem", String(repeating: "k", count: 65), "b",
    ])
    func rotateRefuses(kid: String) throws {
        var ring = try Self.rotatedTwice()
        let before = ring
        #expect(throws: CoreError.invalidKeyRing) { try ring.rotate(to: kid, alg: .es256, now: Self.t0 + 30, overlap: .seconds(60)) }
        #expect(ring == before)
    }

    @Test("kids are 1 to 64 of A-Z a-z 0-9 _ -")
    func kidEdges() {
        #expect(SigningKeyRecord.isValidKID("k19700-abcDEF_09"))
        #expect(SigningKeyRecord.isValidKID(String(repeating: "k", count: 64)))
        #expect(!SigningKeyRecord.isValidKID(String(repeating: "k", count: 65)))
        #expect(!SigningKeyRecord.isValidKID("k\0"))
    }

    @Test("a stored ring with two active keys, a duplicate or an invalid kid is refused", arguments: [
        [KeyRingTests.record("a", .active), KeyRingTests.record("b", .active)],
        [KeyRingTests.record("a", .active), KeyRingTests.record("a", .retiring, retireAt: KeyRingTests.t0)],
        [KeyRingTests.record("a/../b", .active)],
        [KeyRingTests.record("", .retired)],
    ])
    func invalidStoredRing(records: [SigningKeyRecord]) {
        #expect(throws: CoreError.invalidKeyRing) { try KeyRing(records: records) }
    }

    @Test("a stored ring without an active key is valid (every key retired)")
    func noActive() throws {
        let ring = try KeyRing(records: [Self.record("a", .retired, retireAt: Self.t0)])
        #expect(ring.active == nil && ring.verifying(at: Self.t0 - 1).isEmpty)
    }

    @Test("records round-trip through JSON with retire_at and the status strings")
    func codable() throws {
        let ring = try Self.rotatedTwice()
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let text = String(decoding: try encoder.encode(ring.records), as: UTF8.self)
        #expect(text.contains(#""retire_at""#) && text.contains(#""status":"retiring""#) && text.contains(#""alg":"RS256""#))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try KeyRing(records: decoder.decode([SigningKeyRecord].self, from: Data(text.utf8))) == ring)
    }
}
