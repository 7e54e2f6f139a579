import Foundation
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Relays may present a channel token instead of an auth string: accepted for its channel (and socket, when bound),
/// refused with 403 / code 4009 otherwise; presence members come from `sub` and `info`.
@Suite struct TokenRelayTests {
    static let path = "/relay/v1/apps/\(Fixtures.appID)/subscriptions"

    @Test("a bound private token subscribes its socket")
    func privateBound() async throws {
        try await TokenServer().run { client in
            let relay = RelayClient(client: client)
            let token = try await client.issuedToken(channel: "private-foobar", socket: "1.1")
            let response = try await relay.subscribe(TokenRelay.subscribe(socket: "1.1", channel: "private-foobar", token: token))
            #expect(response.status == .ok && response.text == "{}", "\(response.text)")
        }
    }

    @Test("a presence token makes its sub a member with its info")
    func presenceMember() async throws {
        try await TokenServer().run { client in
            let relay = RelayClient(client: client)
            let identity = try Fixtures.token(sub: "u5", extra: ["user_info": .object(["name": "Eve"])])
            let issued = try await client.issueToken(["channel": "presence-room", "socket_id": "5.5"], identity: identity)
            let token = try #require(issued.json?["token"]?.stringValue)
            let response = try await relay.subscribe(TokenRelay.subscribe(socket: "5.5", channel: "presence-room", token: token))
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json?["member_added"] == .bool(true) && response.presenceIDs == ["u5"])
            #expect(response.json?["presence"]?["hash"]?["u5"] == .object(["name": "Eve"]))
            // A second socket of the same user with its own token joins without a new member.
            let again = try await client.issuedToken(channel: "presence-room", socket: "5.6", sub: "u5")
            let second = try await relay.subscribe(TokenRelay.subscribe(socket: "5.6", channel: "presence-room", token: again))
            #expect(second.json?["member_added"] == .bool(false) && second.presenceIDs == ["u5"])
        }
    }

    @Test("an unbound token is accepted for any socket on its channel")
    func unbound() async throws {
        try await TokenServer().run { client in
            let token = try await client.issuedToken(channel: "presence-room", sub: "u3")
            let response = try await RelayClient(client: client).subscribe(TokenRelay.subscribe(socket: "7.7", channel: "presence-room", token: token))
            #expect(response.status == .ok && response.presenceIDs == ["u3"], "\(response.text)")
        }
    }

    @Test("wrong channel, wrong socket, expired, tampered, foreign and empty tokens are 403 with code 4009", arguments: [
        "wrong channel", "wrong socket", "expired", "tampered", "other app", "unknown key", "empty", "garbage",
    ])
    func refused(kind: String) async throws {
        let other = try App(id: "4", key: "other-app-key-4", secrets: [AppSecret(id: "s", secret: String(repeating: "o", count: 32), created: Date())])
        let server = try TokenServer(apps: [Fixtures.pusherApp(), other], settings: [Fixtures.settings(), Fixtures.settings(id: "4")])
        let expired = try server.tokens.issue(
            with: server.current, app: try Fixtures.pusherApp(), identity: Identity(userID: "u1", userInfo: nil, claims: nil),
            channel: try ChannelName(validating: "presence-room"), socketID: try SocketID(validating: "1.1"), ttl: 60,
            now: Date() - 600).token
        let foreignKey = try JWTSigner(key: .asymmetric(.generate(.p256), algorithm: .es256, kid: server.current.ring.active?.kid))
        try await server.run { client in
            let relay = RelayClient(client: client)
            let good = try await client.issuedToken(channel: "presence-room", socket: "1.1", appKey: Fixtures.appKey)
            let (channel, socket, token): (String, String, String) = switch kind {
            case "wrong channel": ("presence-other", "1.1", good)
            case "wrong socket": ("presence-room", "1.2", good)
            case "expired": ("presence-room", "1.1", expired)
            case "tampered": ("presence-room", "1.1", DecodedToken.replacingClaims(of: good, with: try DecodedToken(good).claims.merging(["sub": "boss"]) { $1 }))
            case "other app": ("presence-room", "1.1", good)
            case "unknown key": ("presence-room", "1.1", try foreignKey.sign(try DecodedToken(good).claims))
            case "empty": ("presence-room", "1.1", "")
            default: ("presence-room", "1.1", "a.b.c")
            }
            let app = kind == "other app" ? "4" : Fixtures.appID
            let response = try await relay.subscribe(TokenRelay.subscribe(socket: socket, channel: channel, token: token), app: app)
            expectRelayRefusal(response, .forbidden, code: 4009)
            #expect(try await relay.presence().presenceIDs.isEmpty)
            // The genuine request still works afterwards.
            let ok = try await relay.subscribe(TokenRelay.subscribe(socket: "1.1", channel: "presence-room", token: good))
            #expect(ok.status == .ok && ok.presenceIDs == ["u1"])
        }
    }

    @Test("a private token is not accepted for a presence channel of the same user, nor the reverse")
    func channelKinds() async throws {
        try await TokenServer().run { client in
            let relay = RelayClient(client: client)
            let privateToken = try await client.issuedToken(channel: "private-foobar", socket: "1.1")
            let presenceToken = try await client.issuedToken(channel: "presence-room", socket: "1.1")
            expectRelayRefusal(try await relay.subscribe(TokenRelay.subscribe(socket: "1.1", channel: "presence-room", token: privateToken)), .forbidden, code: 4009)
            expectRelayRefusal(try await relay.subscribe(TokenRelay.subscribe(socket: "1.1", channel: "private-foobar", token: presenceToken)), .forbidden, code: 4009)
        }
    }
}
