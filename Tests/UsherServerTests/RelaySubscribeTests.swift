import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `POST /relay/v1/apps/{app}/subscriptions` for every channel kind, checked against PUSHER-PROTOCOL.md §11 vectors.
@Suite struct RelaySubscribeTests {
    static let key = Fixtures.appKey

    @Test("a private channel with the V1 auth string is subscribed and occupies the channel")
    func privateChannel() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let body = RelayFixtures.subscribe(
                socket: "1234.1234", channel: "private-foobar",
                auth: "\(Self.key):58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
            let response = try await client.subscribe(body)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.text == "{}")
        }
        #expect(server.logged() == ["channel_occupied private-foobar"])
    }

    @Test("presence answers the exact member list; a second tab and a retry answer member_added false")
    func presenceChannel() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let ann = try RelayFixtures.presence(socket: "1.1", user: "42", info: .object(["name": .string("Ann")]))
            let first = try await client.subscribe(ann)
            #expect(first.status == .ok)
            #expect(first.text == #"{"presence":{"ids":["42"],"hash":{"42":{"name":"Ann"}},"count":1},"member_added":true}"#)

            let tab = try await client.subscribe(try RelayFixtures.presence(socket: "1.2", user: "42"))
            #expect(tab.text == #"{"presence":{"ids":["42"],"hash":{"42":{"name":"Ann"}},"count":1},"member_added":false}"#)
            let retry = try await client.subscribe(ann)
            #expect(retry.text == tab.text)

            let bo = try await client.subscribe(try RelayFixtures.presence(socket: "2.1", user: "7"))
            #expect(bo.presenceIDs == ["42", "7"])
            #expect(bo.json?["presence"]?["hash"] == .object(["42": .object(["name": .string("Ann")]), "7": .object([:])]))
            #expect(bo.json?["presence"]?["count"] == .integer(2))
            #expect(bo.json?["member_added"] == .bool(true))
            // The counts relays answer channel queries with: three sockets, two users.
            let counts = try await client.send(.get, "/relay/v1/apps/\(Fixtures.appID)/channels/presence-room")
            #expect(counts.text == #"{"subscription_count":3,"user_count":2}"#)
            let empty = try await client.send(.get, "/relay/v1/apps/\(Fixtures.appID)/channels/cache-nothing")
            #expect(empty.text == #"{"subscription_count":0,"user_count":0}"#)
        }
        #expect(server.logged() == ["channel_occupied presence-room", "member_added 42", "member_added 7"])
    }

    @Test("presence auth is checked over the exact channel_data text (V5 compact, V3 Python spacing, numeric id)")
    func presenceVectors() async throws {
        try await RelayServer().run { client in
            let v5 = RelayFixtures.subscribe(
                socket: "123.456", channel: "presence-room",
                auth: "\(Self.key):df99d5bde6eaa860dcc76115393e46448962d93c6727592479b34fd932390dcc",
                channelData: #"{"user_id":"42"}"#)
            let first = try await client.subscribe(v5)
            #expect(first.text == #"{"presence":{"ids":["42"],"hash":{"42":{}},"count":1},"member_added":true}"#)
            let v3 = RelayFixtures.subscribe(
                socket: "1234.1234", channel: "presence-foobar",
                auth: "\(Self.key):5b8808f3035fec2e4157c6b430a06d5b0de16d174e1a779e0e2b64d9983bde27",
                channelData: #"{"user_id": 10, "user_info": {"name": "Mr. Channels"}}"#)
            let python = try await client.subscribe(v3)
            #expect(python.text == #"{"presence":{"ids":["10"],"hash":{"10":{"name":"Mr. Channels"}},"count":1},"member_added":true}"#)
        }
    }

    @Test("an encrypted channel with the V8 auth string is subscribed")
    func encryptedChannel() async throws {
        try await RelayServer().run { client in
            let body = RelayFixtures.subscribe(
                socket: "1234.1234", channel: "private-encrypted-foobar",
                auth: "\(Self.key):e6a18892d037c5d5e76a2265df4f086ffc38631605530dfd214aa5bff495f533")
            let response = try await client.subscribe(body)
            #expect(response.status == .ok)
            #expect(response.text == "{}")
        }
    }

    @Test("a public channel needs no auth (absent or empty, as pusher-js sends)")
    func publicChannel() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let absent = try await client.subscribe(RelayFixtures.subscribe(socket: "1.1", channel: "news", auth: nil))
            #expect(absent.text == "{}")
            let empty = try await client.subscribe(RelayFixtures.subscribe(socket: "1.2", channel: "cache-news", auth: ""))
            #expect(empty.text == "{}")
        }
        #expect(server.logged() == ["channel_occupied news", "channel_occupied cache-news"])
    }

    @Test("#server-to-user-<id> needs the sign-in auth (V7) over user_data naming that id")
    func serverToUser() async throws {
        let userData = #"{"id":"12345"}"#
        let v7 = "\(Self.key):4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
        let server = try RelayServer()
        try await server.run { client in
            let ok = try await client.subscribe(
                RelayFixtures.subscribe(socket: "1234.1234", channel: "#server-to-user-12345", auth: v7, userData: userData))
            #expect(ok.status == .ok)
            #expect(ok.text == "{}")
            // A genuine sign-in for another user does not open this user's channel.
            let other = RelayFixtures.authorizer.signIn(socketID: try SocketID(validating: "1.1"), userData: #"{"id":"999"}"#)
            let refused = try await client.subscribe(RelayFixtures.subscribe(
                socket: "1.1", channel: "#server-to-user-12345", auth: other.auth, userData: #"{"id":"999"}"#))
            expectRelayRefusal(refused, .forbidden, code: 4009)
            let missing = try await client.subscribe(
                RelayFixtures.subscribe(socket: "1234.1234", channel: "#server-to-user-12345", auth: v7))
            expectRelayRefusal(missing, .forbidden, code: 4009)
        }
        // The sign-in makes its user online (the channel's member), logged as user_online.
        #expect(server.logged() == ["channel_occupied #server-to-user-12345", "user_online 12345"])
    }

    @Test("a channel token that does not verify never opens a #server-to-user- channel")
    func serverToUserBogusToken() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let body = ##"{"node":"r1","socket_id":"1.1","channel":"#server-to-user-12345","token":"not.a.token"}"##
            expectRelayRefusal(try await client.subscribe(body), .forbidden, code: 4009)
            let privateBody = #"{"node":"r1","socket_id":"1.1","channel":"private-foobar","token":"not.a.token"}"#
            expectRelayRefusal(try await client.subscribe(privateBody), .forbidden, code: 4009)
        }
        #expect(server.logged().isEmpty)
    }
}
