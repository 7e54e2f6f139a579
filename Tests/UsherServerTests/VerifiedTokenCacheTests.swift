import Foundation
import Logging
import Testing
import UsherCrypto
@testable import UsherServer

@Suite struct VerifiedTokenCacheTests {
    let logger = Logger(label: "test")

    @Test("a cached token is served until its exp (plus leeway) and refused after, like a fresh verification")
    func cachedUntilExpiry() throws {
        let verifier = IdentityVerifier(settings: try Fixtures.identity())
        let exp = Fixtures.now() + 60
        let token = try Fixtures.token(sub: "alice", extra: ["exp": .integer(exp), "iat": .integer(exp - 60)])
        let issued = Date(timeIntervalSince1970: Double(exp - 60))
        #expect(try verifier.identity(token: token[...], now: issued, logger: logger).userID == "alice")
        // Second call: served from the cache (same answer).
        #expect(try verifier.identity(token: token[...], now: issued.addingTimeInterval(1), logger: logger).userID == "alice")
        let late = Date(timeIntervalSince1970: Double(exp) + 31)  // past exp + the 30 s default leeway
        #expect(throws: ServerError.expiredIdentity) { try verifier.identity(token: token[...], now: late, logger: logger) }
    }

    @Test("refused tokens are not cached, and a different token is verified on its own")
    func refusalsAreNotCached() throws {
        let verifier = IdentityVerifier(settings: try Fixtures.identity())
        let good = try Fixtures.token(sub: "alice")
        let tampered = String(good.dropLast(2)) + (good.hasSuffix("AA") ? "BB" : "AA")
        #expect(throws: ServerError.invalidIdentity) { try verifier.identity(token: tampered[...], now: Date(), logger: logger) }
        #expect(try verifier.identity(token: good[...], now: Date(), logger: logger).userID == "alice")
        #expect(throws: ServerError.invalidIdentity) { try verifier.identity(token: tampered[...], now: Date(), logger: logger) }
    }

    @Test("the cache is bounded: filling it past capacity starts over without losing correctness")
    func bounded() {
        let cache = VerifiedTokenCache(capacity: 2)
        let identity = Identity(userID: "u", userInfo: nil, claims: nil)
        for index in 0..<5 { cache.store(identity, for: [UInt8(index)], expiresAt: 100) }
        #expect(cache.identity(for: [4], now: 1)?.userID == "u")
        #expect(cache.identity(for: [0], now: 1) == nil)
        #expect(cache.identity(for: [4], now: 100) == nil)
    }
}
