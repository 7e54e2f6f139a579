import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Identity tokens that must be refused with 401, a JSON error and no echo of the token.
@Suite struct IdentityRefusalTests {
    static let fields: KeyValuePairs = ["socket_id": "1234.1234", "channel_name": "private-foobar"]

    /// POSTs `fields` with `token` as a bearer token to the default server and checks a refusal with `status`.
    func expectRefused(token: String, identity: IdentitySettings? = nil, status: HTTPResponse.Status = .unauthorized) async throws {
        try await TestServer.pusher(identity: identity).run { client in
            let response = try await client.post(Self.fields, token: token)
            expectRefusal(response, status, secrets: [token])
        }
    }

    @Test("a request without a token is 401 with WWW-Authenticate: Bearer")
    func missingToken() async throws {
        try await TestServer.pusher().run { client in
            let response = try await client.post(Self.fields)
            expectRefusal(response, .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
            #expect(response.fields["error"] == "missing identity token")
        }
    }

    @Test("the valid control token is accepted, so the refusals below are the token's fault")
    func control() async throws {
        let token = try Fixtures.token()
        try await TestServer.pusher().run { client in
            let status = try await client.post(Self.fields, token: token).status
            #expect(status == .ok)
        }
    }

    @Test("an expired token is 401 and says it expired")
    func expired() async throws {
        let token = try Fixtures.token(extra: ["exp": .integer(Fixtures.now() - 3600)])
        try await TestServer.pusher().run { client in
            let response = try await client.post(Self.fields, token: token)
            expectRefusal(response, .unauthorized, secrets: [token])
            #expect(response.fields["error"] == "identity token expired")
        }
    }

    @Test("a token without exp is 401")
    func noExpiry() async throws {
        let token = try JWTSigner(key: JWTKey.hmac(secret: Fixtures.identitySecret)).sign(["sub": .string("u1")])
        try await expectRefused(token: token)
    }

    @Test("a token signed with another secret is 401")
    func wrongSecret() async throws {
        try await expectRefused(token: try Fixtures.token(secret: Array("a-different-secret-of-at-least-32-bytes".utf8)))
    }

    @Test("a token with a flipped or truncated signature is 401")
    func tamperedSignature() async throws {
        var token = Array(try Fixtures.token())
        // A character inside the signature (the last one may only carry padding bits).
        let index = token.count - 10
        let original = token[index]
        token[index] = original == "A" ? "B" : "A"
        try await expectRefused(token: String(token))
        token[index] = original
        try await expectRefused(token: String(token.dropLast(10)))
    }

    @Test("alg confusion: HS256 MACed with the ES256 public PEM is 401")
    func algConfusion() async throws {
        let key = try AsymmetricKey.generate(.p256)
        let publicPEM = try key.publicKeyPEM()
        let identity = IdentitySettings(keys: [try JWTKey.pem(publicPEM, algorithm: .es256)])
        let forged = try Fixtures.token(secret: Array(publicPEM.utf8))
        try await expectRefused(token: forged, identity: identity)
        // Control: a real ES256 token for the same identity passes.
        let genuine = try JWTSigner(key: .asymmetric(key, algorithm: .es256)).sign([
            "sub": .string("u1"), "exp": .integer(Fixtures.now() + 300),
        ])
        try await TestServer.pusher(identity: identity).run { client in
            let status = try await client.post(Self.fields, token: genuine).status
            #expect(status == .ok)
        }
    }

    @Test("alg none is 401, with or without a signature segment", arguments: ["", "c2ln"])
    func algNone(signature: String) async throws {
        let header = Base64.urlEncode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let payload = Base64.urlEncode(Array(#"{"sub":"u1","exp":\#(Fixtures.now() + 300)}"#.utf8))
        try await expectRefused(token: "\(header).\(payload).\(signature)")
    }

    @Test("a token naming an unknown kid is 401")
    func unknownKid() async throws {
        try await expectRefused(token: try Fixtures.token(kid: "other"), identity: try Fixtures.identity(kid: "k1"))
    }

    @Test("a token without sub is 401")
    func noSubject() async throws {
        try await expectRefused(token: try Fixtures.token(extra: ["sub": .null]))
    }

    @Test("a token failing issuer or audience is 401")
    func issuerAudience() async throws {
        var identity = try Fixtures.identity()
        identity.issuer = "https://app.example"
        identity.audience = "usher"
        try await expectRefused(token: try Fixtures.token(extra: ["iss": .string("https://evil.example"), "aud": .string("usher")]), identity: identity)
        try await expectRefused(token: try Fixtures.token(extra: ["iss": .string("https://app.example"), "aud": .string("other")]), identity: identity)
    }

    @Test("a 9 MB bearer token is refused without reaching libjwt")
    func hugeBearer() async throws {
        let token = try Fixtures.token() + String(repeating: "A", count: 9 * 1024 * 1024)
        // Through the router: over a socket NIO's 80 KiB header limit closes the connection before any handler runs.
        try await TestServer.pusher().run(.router) { client in
            let response = try await client.post(Self.fields, token: token)
            #expect((400..<500).contains(response.status.code))
            #expect(response.text.count < 1024)
            // The server is still serving.
            let status = try await client.post(Self.fields, token: try Fixtures.token()).status
            #expect(status == .ok)
        }
    }

    @Test("a non-Bearer Authorization scheme is not a token")
    func basicScheme() async throws {
        try await TestServer.pusher().run { client in
            let response = try await client.post(Self.fields, headers: [.authorization: "Basic dXNlcjpwYXNz"])
            expectRefusal(response, .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
        }
    }
}
