import Foundation
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `POST /v1/tokens/verify`: valid tokens answer their claims; expired, tampered, foreign, alg-swapped tokens and
/// tokens for another channel or socket are a 401.
@Suite struct TokenVerifyTests {
    static let identity = Identity(userID: "u1", userInfo: nil, claims: nil)

    /// The active key's claims for a token, signed by `signer` (the server's active key by default).
    static func signed(_ server: TokenServer, _ change: (inout [String: JSONValue]) -> Void, signer: JWTSigner? = nil) throws -> String {
        let issued = try server.tokens.issue(
            with: server.current, app: try Fixtures.pusherApp(), identity: identity, channel: try ChannelName(validating: "private-foobar"),
            socketID: try SocketID(validating: "1234.5678"), ttl: 300, now: Date())
        var claims = try DecodedToken(issued.token).claims
        change(&claims)
        return try (signer ?? #require(server.current.signer)).sign(claims)
    }

    /// The active key's public PEM, as a relay or attacker would get it from the JWKS.
    static func publicPEM(_ server: TokenServer) throws -> String {
        let kid = try #require(server.current.ring.active?.kid)
        let pem = try String(contentsOfFile: server.keys.path + "/signing/\(kid).pem", encoding: .utf8)
        return try AsymmetricKey(pem: pem).publicKeyPEM()
    }

    @Test("a valid token answers valid, the app id and its claims; channel and socket may be checked")
    func valid() async throws {
        try await TokenServer().run { client in
            let token = try await client.issuedToken(socket: "1234.5678")
            for fields in [["token": token], ["token": token, "channel": "private-foobar"],
                           ["token": token, "channel": "private-foobar", "socket_id": "1234.5678"]] {
                let response = try await client.verifyToken(fields)
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.json?["valid"] == .bool(true) && response.json?["app_id"] == "3")
                #expect(response.json?["claims"]?["sub"] == "u1" && response.json?["claims"]?["channel"] == "private-foobar")
            }
            // The form encoding works too.
            #expect(try await client.post(["token": token], to: "/v1/tokens/verify", token: nil).status == .ok)
        }
    }

    @Test("wrong channel, wrong socket, and an unbound token checked against a socket")
    func channelAndSocket() async throws {
        try await TokenServer().run { client in
            let bound = try await client.issuedToken(socket: "1234.5678")
            expectRefusal(try await client.verifyToken(["token": bound, "channel": "private-other"]), .unauthorized, secrets: [bound])
            expectRefusal(try await client.verifyToken(["token": bound, "socket_id": "1234.5679"]), .unauthorized, secrets: [bound])
            // A token issued without socket_id is not bound to one connection.
            let unbound = try await client.issuedToken()
            #expect(try await client.verifyToken(["token": unbound, "socket_id": "9.9"]).status == .ok)
        }
    }

    @Test("expired tokens are refused as expired; the 5 s leeway is exact (checked on an injected clock)")
    func expired() async throws {
        let server = try TokenServer()
        let now = Fixtures.now()
        let expired = try Self.signed(server) { $0["exp"] = .integer(now - 60) }
        let app = try Fixtures.pusherApp()
        let exp = Date(timeIntervalSince1970: Double(now + 100))
        let token = try Self.signed(server) { $0["exp"] = .integer(now + 100) }
        #expect(throws: Never.self) { try server.tokens.verify(token, with: server.current, app: app, channel: nil, socketID: nil, now: exp + 4.999) }
        #expect(throws: ServerError.expiredIdentity) { try server.tokens.verify(token, with: server.current, app: app, channel: nil, socketID: nil, now: exp + 5) }
        try await server.run { client in
            let response = try await client.verifyToken(["token": expired])
            expectRefusal(response, .unauthorized, secrets: [expired])
            #expect(response.text.contains("expired"))
        }
    }

    @Test("tampered, foreign, mis-addressed and alg-swapped tokens are a 401", arguments: [
        "flipped signature", "truncated signature", "changed sub", "wrong issuer", "wrong audience", "no exp", "no channel",
        "not yet valid", "unknown kid", "same key other kid", "HS256 with the public PEM", "alg RS256 header", "alg none",
    ])
    func refused(kind: String) async throws {
        let server = try TokenServer()
        let good = try Self.signed(server) { _ in }
        let kid = try #require(server.current.ring.active?.kid)
        let parts = good.split(separator: ".").map(String.init)
        let header = { (fields: [String: JSONValue]) in Base64.urlEncode(Array(JSONValue.object(fields).jsonText.utf8)) }
        let token: String = switch kind {
        case "flipped signature": parts[0] + "." + parts[1] + "." + String(parts[2].dropLast()) + (parts[2].hasSuffix("A") ? "B" : "A")
        case "truncated signature": parts[0] + "." + parts[1] + "." + parts[2].prefix(parts[2].count / 2)
        case "changed sub": DecodedToken.replacingClaims(of: good, with: try DecodedToken(good).claims.merging(["sub": "admin"]) { $1 })
        case "wrong issuer": try Self.signed(server) { $0["iss"] = "evil" }
        case "wrong audience": try Self.signed(server) { $0["aud"] = "someone-else-key" }
        case "no exp": try Self.signed(server) { $0["exp"] = nil }
        case "no channel": try Self.signed(server) { $0["channel"] = nil }
        case "not yet valid": try Self.signed(server) { $0["nbf"] = .integer(Fixtures.now() + 600) }
        case "unknown kid": try Self.signed(server, { _ in }, signer: JWTSigner(key: .asymmetric(.generate(.p256), algorithm: .es256, kid: "k0-unknown")))
        case "same key other kid": try Self.signed(server, { _ in }, signer: JWTSigner(key: .asymmetric(.generate(.p256), algorithm: .es256, kid: kid)))
        case "HS256 with the public PEM":
            try Self.signed(server, { _ in }, signer: JWTSigner(key: .hmac(secret: Array(try Self.publicPEM(server).utf8), kid: kid)))
        case "alg RS256 header": header(["alg": "RS256", "kid": .string(kid), "typ": "JWT"]) + "." + parts[1] + "." + parts[2]
        default: header(["alg": "none", "kid": .string(kid)]) + "." + parts[1] + "."
        }
        try await server.run { client in
            #expect(try await client.verifyToken(["token": good]).status == .ok)
            expectRefusal(try await client.verifyToken(["token": token]), .unauthorized, secrets: [token])
        }
    }

    @Test("with several apps served, verify finds the app by the token's audience; no app_key is needed")
    func severalApps() async throws {
        let other = try App(id: "4", key: "other-app-key-4", secrets: [AppSecret(id: "s", secret: String(repeating: "o", count: 32), created: Date())])
        let server = try TokenServer(apps: [Fixtures.pusherApp(), other], settings: [Fixtures.settings(), Fixtures.settings(id: "4")])
        try await server.run { client in
            for (key, id) in [(Fixtures.appKey, "3"), ("other-app-key-4", "4")] {
                let token = try await client.issuedToken(appKey: key)
                let response = try await client.verifyToken(["token": token])
                #expect(response.status == .ok && response.json?["app_id"] == .string(id), "\(response.text)")
                #expect(response.json?["claims"]?["aud"] == .string(key))
            }
        }
    }

    @Test("a missing token is a 400; an oversized one a 4xx")
    func malformed() async throws {
        try await TokenServer().run { client in
            expectRefusal(try await client.verifyToken([:]), .badRequest)
            let huge = try await client.verifyToken(["token": String(repeating: "a", count: 9000) + ".b.c"])
            #expect((400..<500).contains(huge.status.code))
        }
    }
}
