import Foundation
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `GET /.well-known/jwks.json`: the active and retiring public keys, cacheable no longer than the next retirement.
@Suite struct TokenJWKSTests {
    static func maxAge(_ response: TestResponse) throws -> Int {
        let header = try #require(response.headers[.cacheControl])
        let directive = try #require(header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("max-age=") })
        return try #require(Int(directive.dropFirst("max-age=".count)))
    }

    static func kids(_ response: TestResponse) -> [String] {
        guard case .array(let keys)? = response.json?["keys"] else { return [] }
        return keys.compactMap { $0["kid"]?.stringValue }
    }

    @Test("publishes the active key as JSON with max-age 60 when nothing retires")
    func activeOnly() async throws {
        let server = try TokenServer()
        let kid = try #require(server.current.ring.active?.kid)
        try await server.run { client in
            let response = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            #expect(response.status == .ok && response.headers[.contentType] == "application/json")
            #expect(Self.kids(response) == [kid])
            #expect(try Self.maxAge(response) == 60)
            #expect(response.headers[.cacheControl]?.contains("public") == true)
        }
    }

    @Test("after rotations it publishes every verifying key; max-age never outlasts the next retire_at", arguments: [
        (3600, 60), (45, 45), (30, 30),
    ])
    func rotated(overlap: Int, ceiling: Int) async throws {
        let server = try TokenServer()
        let first = try #require(server.current.ring.active?.kid)
        let second = try server.rotate(.rs256, overlap: .seconds(Int64(overlap))).kid
        let third = try server.rotate(.edDSA, overlap: .seconds(3600)).kid
        try await server.run { client in
            // Key generation takes a while; max-age is what is left of the overlap when the server answers, so it
            // lies between what was left before the request and what is left once the answer is in.
            let retirement = try #require(server.current.nextRetirement)
            let before = Int(retirement.timeIntervalSinceNow)
            let response = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            let after = Int(retirement.timeIntervalSinceNow)
            #expect(Self.kids(response) == [first, second, third])
            let age = try Self.maxAge(response)
            #expect(age <= min(ceiling, before) && age >= min(ceiling, after) - 1, "max-age \(age), \(before)–\(after) s left")
            guard case .array(let keys)? = response.json?["keys"] else { throw TokenTestError("keys") }
            #expect(keys.map { $0["alg"]?.stringValue } == ["ES256", "RS256", "EdDSA"])
            #expect(keys.allSatisfy { $0["use"] == "sig" && $0["d"] == nil })
        }
    }

    @Test("a zero-overlap rotation unpublishes the previous key within the second (retire_at is whole seconds)")
    func zeroOverlap() async throws {
        let server = try TokenServer()
        let old = try #require(server.current.ring.active?.kid)
        let new = try server.rotate(.es256, overlap: .zero).kid
        try await server.run { client in
            let response = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            let kids = Self.kids(response)
            #expect(kids == [new] || kids == [old, new])
            #expect(try Self.maxAge(response) == (kids.count == 1 ? 60 : 0))
        }
    }

    @Test("tokens issued over HTTP verify offline with the published JWKS, issuer usher and the app key as audience",
          arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func offlineVerification(alg: JWTAlgorithm) async throws {
        try await TokenServer(alg: alg).run { client in
            let token = try await client.issuedToken(channel: "private-user-u1", socket: "1.2")
            let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get).text
            let verifier = JWTVerifier(keys: try JWKSet.keys(fromJSON: jwks), configuration: .init(issuer: "usher", audience: Fixtures.appKey))
            let claims = try verifier.verify(token, now: Date())
            #expect(claims.subject == "u1" && claims["channel"] == "private-user-u1" && claims["socket_id"] == "1.2")
            let other = JWTVerifier(keys: try JWKSet.keys(fromJSON: jwks), configuration: .init(issuer: "usher", audience: "other-app-key"))
            #expect(throws: JWTError.invalidAudience) { try other.verify(token, now: Date()) }
        }
    }

    @Test("a router built without signing keys publishes an empty set and refuses to issue with a 500")
    func noKeys() async throws {
        try await TestServer.pusher().run { client in
            let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            #expect(jwks.status == .ok && jwks.json == .object(["keys": .array([])]))
            let issued = try await client.post(["channel": "private-foobar"], to: "/v1/tokens", token: try Fixtures.token())
            expectRefusal(issued, .internalServerError)
        }
    }
}
