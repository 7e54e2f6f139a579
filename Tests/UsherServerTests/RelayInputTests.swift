import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Presence limits (409 with a Pusher code) and malformed relay requests (4xx with `{"error":…}`, never a 500).
@Suite struct RelayInputTests {
    @Test("a new user beyond maxMembers is 409 code 4100; another tab of a member is still admitted")
    func membersFull() async throws {
        let server = try RelayServer(limits: PresenceLimits(maxMembers: 2))
        try await server.run { client in
            for (socket, user) in [("1.1", "a"), ("1.2", "b")] {
                let response = try await client.subscribe(try RelayFixtures.presence(socket: socket, user: user))
                #expect(response.status == .ok)
            }
            let full = try await client.subscribe(try RelayFixtures.presence(socket: "1.3", user: "c"))
            expectRelayRefusal(full, .conflict, code: 4100)
            let tab = try await client.subscribe(try RelayFixtures.presence(socket: "1.4", user: "a"))
            #expect(tab.status == .ok)
            #expect(tab.json?["member_added"] == .bool(false))
            #expect(tab.presenceIDs == ["a", "b"])
        }
        #expect(server.logged() == ["channel_occupied presence-room", "member_added a", "member_added b"])
    }

    /// A correctly signed presence subscription whose user_info JSON text is `bytes` long.
    static func signedMember(infoBytes bytes: Int) throws -> String {
        // {"p":"…"} is 8 bytes of overhead around the padding.
        let info = #"{"p":""# + String(repeating: "x", count: bytes - 8) + #""}"#
        let channelData = #"{"user_id":"big","user_info":"# + info + "}"
        let auth = try RelayFixtures.authorizer.authorizePresence(
            socketID: SocketID(validating: "1.1"), channel: ChannelName(validating: "presence-room"), channelData: channelData)
        return RelayFixtures.subscribe(socket: "1.1", channel: "presence-room", auth: auth.auth, channelData: channelData)
    }

    @Test("signed user_info over the app's limit is 409 code 4301 (not 400), far over it too; at the limit it joins",
          arguments: [1025, 6000])
    func userInfoTooLarge(bytes: Int) async throws {
        let server = try RelayServer(limits: PresenceLimits(maxUserInfoBytes: 1024))
        try await server.run { client in
            expectRelayRefusal(try await client.subscribe(try Self.signedMember(infoBytes: bytes)), .conflict, code: 4301)
            let fits = try await client.subscribe(try Self.signedMember(infoBytes: 1024))
            #expect(fits.status == .ok)
        }
        #expect(server.logged() == ["channel_occupied presence-room", "member_added big"])
    }

    /// Requests that must be refused with `status` and an `{"error":…}` body: (label, method, path, body, status).
    static let malformed: [(String, HTTPRequest.Method, String, String?, HTTPResponse.Status)] = [
        ("not JSON", .post, "/relay/v1/apps/3/subscriptions", "{node", .badRequest),
        ("not an object", .post, "/relay/v1/apps/3/subscriptions", "[]", .badRequest),
        ("empty body", .post, "/relay/v1/apps/3/subscriptions", "", .badRequest),
        ("missing node", .post, "/relay/v1/apps/3/subscriptions", #"{"socket_id":"1.1","channel":"news"}"#, .badRequest),
        ("socket_id a number", .post, "/relay/v1/apps/3/subscriptions", #"{"node":"r1","socket_id":1.1,"channel":"news"}"#, .badRequest),
        ("bad socket id", .post, "/relay/v1/apps/3/subscriptions", RelayFixtures.subscribe(socket: "1.2.3", channel: "news", auth: nil), .badRequest),
        ("bad node id", .post, "/relay/v1/apps/3/subscriptions", RelayFixtures.subscribe(node: "r 1", socket: "1.1", channel: "news", auth: nil), .badRequest),
        ("empty node id", .post, "/relay/v1/apps/3/subscriptions", RelayFixtures.subscribe(node: "", socket: "1.1", channel: "news", auth: nil), .badRequest),
        ("bad channel", .post, "/relay/v1/apps/3/subscriptions", RelayFixtures.subscribe(socket: "1.1", channel: "bad channel", auth: nil), .badRequest),
        ("channel too long", .post, "/relay/v1/apps/3/subscriptions", RelayFixtures.subscribe(socket: "1.1", channel: String(repeating: "c", count: 201), auth: nil), .badRequest),
        ("unknown app", .post, "/relay/v1/apps/99/subscriptions", RelayFixtures.subscribe(socket: "1.1", channel: "news", auth: nil), .notFound),
        ("unsubscribe, bad socket id", .delete, "/relay/v1/apps/3/subscriptions", #"{"socket_id":"x","channel":"news"}"#, .badRequest),
        ("unsubscribe, not JSON", .delete, "/relay/v1/apps/3/subscriptions", "nope", .badRequest),
        ("unsubscribe, unknown app", .delete, "/relay/v1/apps/99/subscriptions", #"{"socket_id":"1.1","channel":"news"}"#, .notFound),
        ("disconnect, bad socket id", .delete, "/relay/v1/apps/3/sockets/1.x", nil, .badRequest),
        ("disconnect, unknown app", .delete, "/relay/v1/apps/99/sockets/1.1", nil, .notFound),
        ("presence of a non-presence channel", .get, "/relay/v1/apps/3/presence/private-foobar", nil, .badRequest),
        ("presence, unknown app", .get, "/relay/v1/apps/99/presence/presence-room", nil, .notFound),
        ("heartbeat, bad node id", .put, "/relay/v1/nodes/r*1", nil, .badRequest),
        ("heartbeat, node id too long", .put, "/relay/v1/nodes/" + String(repeating: "n", count: 129), nil, .badRequest),
        ("snapshot, bad node id", .put, "/relay/v1/nodes/r*1/sockets", #"{"subscriptions":[]}"#, .badRequest),
        ("snapshot, not JSON", .put, "/relay/v1/nodes/r1/sockets", "{", .badRequest),
        ("snapshot, missing list", .put, "/relay/v1/nodes/r1/sockets", "{}", .badRequest),
        ("snapshot, presence without channel_data", .put, "/relay/v1/nodes/r1/sockets",
         #"{"subscriptions":[{"app":"3","socket_id":"1.1","channel":"presence-room"}]}"#, .badRequest),
        ("snapshot, bad socket id", .put, "/relay/v1/nodes/r1/sockets",
         #"{"subscriptions":[{"app":"3","socket_id":"11","channel":"news"}]}"#, .badRequest),
    ]

    @Test("malformed relay requests are 4xx with an {\"error\":…} body and change nothing", arguments: 0..<malformed.count)
    func malformedRequest(index: Int) async throws {
        let (label, method, path, body, status) = Self.malformed[index]
        let server = try RelayServer()
        try await server.run { client in
            let response = try await client.send(method, path, json: body)
            #expect(response.status == status, "\(label): \(response.text)")
            expectRefusal(response, status, secrets: [RelayFixtures.token])
        }
        #expect(server.logged().isEmpty, "\(label)")
        #expect(server.store.statistics().presence == PresenceStatistics(), "\(label)")
    }

    @Test("a snapshot skips entries of apps no longer served, so the node's other subscriptions still resync")
    func snapshotWithUnknownApp() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let body = #"{"subscriptions":[{"app":"99","socket_id":"1.1","channel":"news"},{"app":"3","socket_id":"1.2","channel":"news"}]}"#
            let response = try await client.send(.put, "/relay/v1/nodes/r1/sockets", json: body)
            #expect(response.status == .ok, "\(response.text)")
        }
        let statistics = server.store.statistics().presence
        #expect(statistics.sockets == 1 && statistics.channels == 1)
    }
}
