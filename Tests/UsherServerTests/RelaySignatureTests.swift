import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Subscriptions whose proof does not verify are 403 with code 4009, and change nothing; rotated secrets overlap.
@Suite struct RelaySignatureTests {
    static let v1 = "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    static let v5 = "df99d5bde6eaa860dcc76115393e46448962d93c6727592479b34fd932390dcc"
    static let key = Fixtures.appKey

    /// Bodies that must each be refused: (label, body).
    static let forged: [(String, String)] = [
        ("flipped hex digit", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: "\(key):" + "68" + v1.dropFirst(2))),
        ("upper-case hex", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: "\(key):\(v1.uppercased())")),
        ("truncated", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: "\(key):\(v1.dropLast())")),
        ("wrong app key", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: "278d425bdf160c739804:\(v1)")),
        ("no key part", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: v1)),
        ("another socket", RelayFixtures.subscribe(socket: "1234.1235", channel: "private-foobar", auth: "\(key):\(v1)")),
        ("another channel", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobaz", auth: "\(key):\(v1)")),
        ("private auth on an encrypted channel", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-encrypted-foobar", auth: "\(key):\(v1)")),
        ("missing auth", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: nil)),
        ("empty auth", RelayFixtures.subscribe(socket: "1234.1234", channel: "private-foobar", auth: "")),
        ("altered channel_data", RelayFixtures.subscribe(
            socket: "123.456", channel: "presence-room", auth: "\(key):\(v5)", channelData: #"{"user_id":"43"}"#)),
        ("re-serialized channel_data", RelayFixtures.subscribe(
            socket: "123.456", channel: "presence-room", auth: "\(key):\(v5)", channelData: #"{"user_id": "42"}"#)),
        ("presence without channel_data", RelayFixtures.subscribe(socket: "123.456", channel: "presence-room", auth: "\(key):\(v5)")),
        ("presence signed like private", RelayFixtures.subscribe(
            socket: "123.456", channel: "presence-room",
            auth: try! RelayFixtures.authorizer.authorizePrivate(
                socketID: SocketID(validating: "123.456"), channel: ChannelName(validating: "private-room")).auth,
            channelData: #"{"user_id":"42"}"#)),
    ]

    @Test("a forged or mismatched auth string is 403 {\"error\":…,\"code\":4009} and joins nothing", arguments: 0..<forged.count)
    func forgedAuth(index: Int) async throws {
        let (label, body) = Self.forged[index]
        let server = try RelayServer()
        try await server.run { client in
            let response = try await client.subscribe(body)
            expectRelayRefusal(response, .forbidden, code: 4009)
            #expect(response.status == .forbidden, "\(label)")
        }
        #expect(server.logged().isEmpty, "\(label)")
        #expect(server.store.statistics().presence == PresenceStatistics(), "\(label)")
    }

    /// The §11 app whose V-vector secret is being retired (`notAfter` relative to now), beside a fresh secret.
    static func rotatedApp(oldSecretEnds offset: TimeInterval) throws -> App {
        try App(
            id: Fixtures.appID, key: Fixtures.appKey,
            secrets: [
                AppSecret(id: "old", secret: Fixtures.appSecret, created: Date(timeIntervalSince1970: 0),
                          notAfter: Date().addingTimeInterval(offset)),
                AppSecret(id: "new", secret: "a-fresh-secret-0123456789abcdef0123", created: Date()),
            ],
            encryptionMasterKey: Fixtures.masterKey)
    }

    static let newAuthorizer = try! ChannelAuthorizer(
        appKey: Fixtures.appKey, secret: HMACKey(secret: Array("a-fresh-secret-0123456789abcdef0123".utf8)))

    @Test("auth signed with a retiring secret still inside its overlap is accepted, as is the new secret's")
    func overlappingSecret() async throws {
        try await RelayServer(apps: [Self.rotatedApp(oldSecretEnds: 3600)]).run { client in
            let old = try await client.subscribe(try RelayFixtures.presence(socket: "1.1", user: "old"))
            #expect(old.status == .ok)
            #expect(old.json?["member_added"] == .bool(true))
            let new = try await client.subscribe(try RelayFixtures.presence(socket: "1.2", user: "new", authorizer: Self.newAuthorizer))
            #expect(new.presenceIDs == ["new", "old"])
        }
    }

    @Test("auth signed with a secret past its notAfter is 403 4009; the current secret still works")
    func expiredSecret() async throws {
        let server = try RelayServer(apps: [Self.rotatedApp(oldSecretEnds: -1)])
        try await server.run { client in
            let old = try await client.subscribe(try RelayFixtures.presence(socket: "1.1", user: "old"))
            expectRelayRefusal(old, .forbidden, code: 4009)
            let v1 = try await client.subscribe(RelayFixtures.subscribe(
                socket: "1234.1234", channel: "private-foobar", auth: "\(Self.key):\(Self.v1)"))
            expectRelayRefusal(v1, .forbidden, code: 4009)
            let new = try await client.subscribe(try RelayFixtures.presence(socket: "1.2", user: "new", authorizer: Self.newAuthorizer))
            #expect(new.status == .ok)
            #expect(new.presenceIDs == ["new"])
        }
        #expect(server.logged() == ["channel_occupied presence-room", "member_added new"])
    }
}
