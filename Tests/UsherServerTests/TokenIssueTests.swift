import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `POST /v1/tokens`: the caller's identity and policy as for `/pusher/auth`, answered with a signed channel JWT.
@Suite struct TokenIssueTests {
    @Test("a form request gets {token, expires_at} with header alg/kid/typ and every claim", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func issueForm(alg: JWTAlgorithm) async throws {
        let server = try TokenServer(alg: alg)
        let kid = try #require(server.current.ring.active?.kid)
        try await server.run { client in
            let before = Fixtures.now()
            let response = try await client.issueToken(["channel": "private-foobar", "socket_id": "1234.5678", "ttl": "120"])
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.headers[.contentType] == "application/json")
            guard case .object(let body)? = response.json else { throw TokenTestError("not an object: \(response.text)") }
            #expect(Set(body.keys) == ["token", "expires_at"])
            let token = try DecodedToken(try #require(body["token"]?.stringValue))
            #expect(token.header == ["alg": .string(alg.rawValue), "kid": .string(kid), "typ": "JWT"])
            let claims = token.claims
            #expect(Set(claims.keys) == ["iss", "aud", "sub", "channel", "socket_id", "iat", "nbf", "exp", "jti"])
            #expect(claims["iss"] == "usher" && claims["aud"] == .string(Fixtures.appKey) && claims["sub"] == "u1")
            #expect(claims["channel"] == "private-foobar" && claims["socket_id"] == "1234.5678")
            guard case .integer(let iat)? = claims["iat"], case .integer(let exp)? = claims["exp"] else { throw TokenTestError("iat/exp") }
            #expect(iat >= before && iat <= Fixtures.now() && claims["nbf"] == .integer(iat))
            #expect(exp == iat + 120 && body["expires_at"] == .integer(exp))
            #expect(claims["jti"]?.stringValue.map { $0.count == 32 && Hex.decode($0) != nil } == true)
        }
    }

    @Test("a JSON body works as the form does; without socket_id the token is unbound")
    func issueJSON() async throws {
        try await TokenServer().run { client in
            let response = try await client.execute(
                uri: "/v1/tokens", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(try Fixtures.token(sub: "u9"))"],
                body: ByteBuffer(string: #"{"channel":"private-user-u9","ttl":60}"#))
            #expect(response.status == .ok, "\(response.text)")
            let claims = try DecodedToken(try #require(response.json?["token"]?.stringValue)).claims
            #expect(claims["sub"] == "u9" && claims["channel"] == "private-user-u9" && claims["socket_id"] == nil)
            #expect(claims["info"] == nil)
        }
    }

    @Test("ttl defaults to 300 s and is capped at max_ttl_seconds", arguments: [(nil, 300), (1, 1), (3600, 3600), (3601, 3600), (999_999_999, 3600)] as [(Int?, Int64)])
    func ttl(requested: Int?, lifetime: Int64) async throws {
        try await TokenServer().run { client in
            let token = try await client.issuedToken(ttl: requested)
            let claims = try DecodedToken(token).claims
            guard case .integer(let iat)? = claims["iat"], case .integer(let exp)? = claims["exp"] else { throw TokenTestError("iat/exp") }
            #expect(exp - iat == lifetime)
        }
    }

    @Test("a ttl that is not a positive integer is a 400", arguments: ["0", "-5", "abc", "", "1.5", "99999999999999999999999"])
    func badTTL(ttl: String) async throws {
        try await TokenServer().run { client in
            expectRefusal(try await client.issueToken(["channel": "private-foobar", "ttl": ttl]), .badRequest)
        }
    }

    @Test("presence tokens carry the identity's user_info as info")
    func presenceInfo() async throws {
        try await TokenServer().run { client in
            let identity = try Fixtures.token(sub: "u7", extra: ["user_info": .object(["name": "Ann", "n": .integer(3)])])
            let response = try await client.issueToken(["channel": "presence-room"], identity: identity)
            #expect(response.status == .ok, "\(response.text)")
            let claims = try DecodedToken(try #require(response.json?["token"]?.stringValue)).claims
            #expect(claims["sub"] == "u7" && claims["info"] == .object(["name": "Ann", "n": .integer(3)]))
        }
    }

    @Test("a token that would be over the verifier's 8 KiB (a private channel's large user_info) is a 400, not a token no one accepts")
    func tooLarge() async throws {
        try await TokenServer().run { client in
            // An identity token just inside its own 8 KiB: the channel token adds iss, aud, channel, jti and a longer
            // signature, and goes over.
            var size = 5_800
            func identity(_ size: Int) throws -> String {
                try Fixtures.token(extra: ["user_info": .object(["bio": .string(String(repeating: "x", count: size))])])
            }
            while try identity(size + 10).utf8.count <= 8_192 - 40 { size += 10 }
            let large = try identity(size)
            let refused = try await client.post(["channel": "private-foobar", "socket_id": "1234.5678"], to: "/v1/tokens", token: large)
            expectRefusal(refused, .badRequest)
            #expect(refused.text.contains("user_info is too large"))
            // The same identity with a modest user_info gets its token.
            let modest = try Fixtures.token(extra: ["user_info": .object(["bio": .string(String(repeating: "x", count: 500))])])
            let issued = try await client.post(["channel": "private-foobar", "socket_id": "1234.5678"], to: "/v1/tokens", token: modest)
            #expect(issued.status == .ok, "\(issued.text)")
        }
    }

    @Test("two tokens for the same request differ in jti")
    func uniqueJTI() async throws {
        try await TokenServer().run { client in
            let first = try DecodedToken(try await client.issuedToken()).claims["jti"]
            let second = try DecodedToken(try await client.issuedToken()).claims["jti"]
            #expect(first != nil && first != second)
        }
    }

    /// Refusal cases: identity token (nil = default u1, "" = none), channel, socket, extra fields, status.
    static let refusals: [(String, String?, String, String?, Int)] = [
        ("no identity", "", "private-foobar", "1234.5678", 401),
        ("wrong secret", try! Fixtures.token(secret: Array("another-identity-secret-0123456789abcdef".utf8)), "private-foobar", "1234.5678", 401),
        ("expired", try! Fixtures.token(extra: ["exp": .integer(Fixtures.now() - 3600)]), "private-foobar", "1234.5678", 401),
        ("garbage", "not.a.jwt", "private-foobar", "1234.5678", 401),
        ("other user's channel", nil, "private-user-u2", "1234.5678", 403),
        ("missing role", nil, "private-admin-x", "1234.5678", 403),
        ("no matching rule", nil, "private-unlisted", "1234.5678", 403),
        ("public channel", nil, "public-room", "1234.5678", 400),
        ("invalid channel name", nil, "private-a b", "1234.5678", 400),
        ("invalid socket_id", nil, "private-foobar", "1234", 400),
        ("user_info too large", try! Fixtures.token(extra: ["user_info": .object(["x": .string(String(repeating: "x", count: 2000))])]), "presence-room", "1234.5678", 400),
    ]

    @Test("identity and policy refusals match /pusher/auth's statuses", arguments: refusals)
    func refusalsMatchAuth(name: String, identity: String?, channel: String, socket: String?, status: Int) async throws {
        try await TokenServer().run { client in
            let token = identity == "" ? nil : try identity ?? Fixtures.token()
            let issued = try await client.post(["channel": channel, "socket_id": socket ?? ""], to: "/v1/tokens", token: token)
            let auth = try await client.post(["channel_name": channel, "socket_id": socket ?? ""], to: "/pusher/auth", token: token)
            expectRefusal(issued, .init(code: status))
            #expect(auth.status.code == status, "\(name): /pusher/auth answered \(auth.status) \(auth.text)")
            if status == 401 { #expect(issued.headers[.wwwAuthenticate] == auth.headers[.wwwAuthenticate]) }
        }
    }

    @Test("a missing channel is a 400 and an unknown app key a 404")
    func badRequests() async throws {
        try await TokenServer().run { client in
            expectRefusal(try await client.issueToken(["socket_id": "1234.5678"]), .badRequest)
            expectRefusal(try await client.issueToken(["channel": "private-foobar", "app_key": "unknown-key-1"]), .notFound)
        }
    }

    @Test("the admin channel is issued when the identity has the role")
    func adminRole() async throws {
        try await TokenServer().run { client in
            let identity = try Fixtures.token(extra: ["role": "admin"])
            #expect(try await client.issueToken(["channel": "private-admin-x"], identity: identity).status == .ok)
        }
    }
}
