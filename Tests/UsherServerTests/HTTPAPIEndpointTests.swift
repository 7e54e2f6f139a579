import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// The Pusher HTTP API endpoints (PUSHER-PROTOCOL.md §7) over presence state held by the store, signed as the SDKs sign.
@Suite struct HTTPAPIEndpointTests {
    @Test("channels lists every occupied channel, filters by prefix and reports user_count and subscription_count")
    func channels() async throws {
        let server = try RelayServer()
        try await server.seed()
        try await server.run { client in
            let all = try await client.api(.get, "/apps/3/channels")
            #expect(all.status == .ok)
            #expect(all.headers[.contentType] == "application/json")
            let empty = JSONValue.object([:])
            #expect(all.json == .object(["channels": .object(["presence-room": empty, "presence-lobby": empty, "private-foobar": empty, "news": empty])]))

            let presence = try await client.api(
                .get, "/apps/3/channels", params: ["filter_by_prefix": "presence-", "info": "user_count"], signer: .node)
            #expect(presence.json == .object(["channels": .object(["presence-room": counts(["user_count": 2]), "presence-lobby": counts(["user_count": 1])])]))

            let both = try await client.api(
                .get, "/apps/3/channels", params: ["filter_by_prefix": "presence-r", "info": "user_count,subscription_count"])
            #expect(both.json == .object(["channels": .object(["presence-room": counts(["user_count": 2, "subscription_count": 3])])]))

            let subscriptions = try await client.api(.get, "/apps/3/channels", params: ["info": "subscription_count"])
            #expect(subscriptions.json?["channels"]?["news"] == counts(["subscription_count": 2]))
            #expect(subscriptions.json?["channels"]?["private-foobar"] == counts(["subscription_count": 1]))

            let none = try await client.api(.get, "/apps/3/channels", params: ["filter_by_prefix": "private-encrypted-"])
            #expect(none.text == #"{"channels":{}}"#)
        }
    }

    @Test("info=user_count needs the presence- prefix; unknown attributes are a 400", arguments: [
        ["info": "user_count"], ["info": "user_count", "filter_by_prefix": "private-"], ["info": "members"],
        ["info": "user_count,bogus", "filter_by_prefix": "presence-"],
    ])
    func channelsRefusals(_ params: [String: String]) async throws {
        let server = try RelayServer()
        try await server.seed()
        try await server.run { client in
            expectRefusal(try await client.api(.get, "/apps/3/channels", params: params), .badRequest)
        }
    }

    @Test("channel info answers occupied with the requested counts, or occupied false")
    func channelInfo() async throws {
        let server = try RelayServer()
        try await server.seed()
        try await server.run { client in
            let room = try await client.api(.get, "/apps/3/channels/presence-room", params: ["info": "user_count,subscription_count"])
            #expect(room.status == .ok)
            #expect(room.json == .object(["occupied": .bool(true), "user_count": .integer(2), "subscription_count": .integer(3)]))
            #expect(try await client.api(.get, "/apps/3/channels/presence-room").text == #"{"occupied":true}"#)
            let news = try await client.api(.get, "/apps/3/channels/news", params: ["info": "subscription_count"], signer: .node)
            #expect(news.json == .object(["occupied": .bool(true), "subscription_count": .integer(2)]))
            #expect(try await client.api(.get, "/apps/3/channels/presence-empty", params: ["info": "user_count"]).text == #"{"occupied":false}"#)
            #expect(try await client.api(.get, "/apps/3/channels/private-nobody").text == #"{"occupied":false}"#)
        }
    }

    @Test("channel info refuses user_count off presence channels and unknown attributes", arguments: [
        ("private-foobar", "user_count"), ("news", "user_count"), ("presence-room", "bogus"), ("news", "subscription_count,x"),
    ])
    func channelInfoRefusals(_ channel: String, _ info: String) async throws {
        let server = try RelayServer()
        try await server.seed()
        try await server.run { client in
            expectRefusal(try await client.api(.get, "/apps/3/channels/\(channel)", params: ["info": info]), .badRequest)
        }
    }

    @Test("users lists each presence member once, with user_info only when asked")
    func users() async throws {
        let server = try RelayServer()
        try await server.seed()
        try await server.run { client in
            let plain = try await client.api(.get, "/apps/3/channels/presence-room/users")
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType] == "application/json")
            #expect(plain.userIDs.sorted() == ["42", "7"])
            guard case .array(let entries)? = plain.json?["users"] else { Issue.record("no users array"); return }
            #expect(entries.allSatisfy { if case .object(let members) = $0 { members.keys.sorted() == ["id"] } else { false } })

            let detailed = try await client.api(.get, "/apps/3/channels/presence-room/users", params: ["with_user_info": "1"])
            guard case .array(let users)? = detailed.json?["users"] else { Issue.record("no users array"); return }
            let byID = Dictionary(uniqueKeysWithValues: users.compactMap { user in user["id"]?.stringValue.map { ($0, user["user_info"] ?? .null) } })
            #expect(byID == ["42": .object(["name": "Ann"]), "7": .object([:])])

            #expect(try await client.api(.get, "/apps/3/channels/presence-empty/users").text == #"{"users":[]}"#)
        }
    }

    @Test("users is refused for channels that are not presence", arguments: ["private-foobar", "news", "private-encrypted-x"])
    func usersRefusals(_ channel: String) async throws {
        let server = try RelayServer()
        try await server.seed()
        try await server.run { client in
            expectRefusal(try await client.api(.get, "/apps/3/channels/\(channel)/users"), .badRequest)
        }
    }

    @Test("terminate_connections on the /apps path and the unprefixed Python path logs terminate_connections")
    func terminate() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let prefixed = try await client.api(.post, "/apps/3/users/42/terminate_connections", body: "{}", signer: .node)
            #expect(prefixed.status == .ok)
            #expect(prefixed.text == "{}")
            let python = try await client.api(.post, "/users/user%40example/terminate_connections", body: "{}")
            #expect(python.status == .ok)
            #expect(python.text == "{}")
        }
        #expect(server.logged() == ["terminate_connections 42", "terminate_connections user@example"])
    }
}
