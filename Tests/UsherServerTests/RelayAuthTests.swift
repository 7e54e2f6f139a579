import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
@testable import UsherServer

/// Every `/relay/v1` route refuses callers without the relay token, before touching any state.
@Suite struct RelayAuthTests {
    /// Each relay route with a body it would otherwise accept.
    static let routes: [(HTTPRequest.Method, String, String?)] = [
        (.post, "/relay/v1/apps/3/subscriptions", RelayFixtures.subscribe(socket: "1.1", channel: "news", auth: nil)),
        (.delete, "/relay/v1/apps/3/subscriptions", #"{"node":"r1","socket_id":"1.1","channel":"news"}"#),
        (.delete, "/relay/v1/apps/3/sockets/1.1", nil),
        (.get, "/relay/v1/apps/3/presence/presence-room", nil),
        (.get, "/relay/v1/apps/3/channels/presence-room", nil),
        (.put, "/relay/v1/nodes/r1", nil),
        (.put, "/relay/v1/nodes/r1/sockets", #"{"subscriptions":[]}"#),
        (.get, "/relay/v1/events", nil),
    ]

    static let badHeaders: [String?] = [
        nil,
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        "Bearer " + RelayFixtures.token + "x",
        "Bearer " + String(RelayFixtures.token.dropLast()),
        "Basic " + RelayFixtures.token,
        RelayFixtures.token,
        "Bearer  " + RelayFixtures.token,
    ]

    @Test("a missing or wrong relay token is 401 with WWW-Authenticate: Bearer on every relay route")
    func unauthorized() async throws {
        let server = try RelayServer()
        try await server.run { client in
            for (method, path, body) in Self.routes {
                for header in Self.badHeaders {
                    let response = try await client.send(method, path, json: body, authorization: header)
                    #expect(response.status == .unauthorized, "\(method) \(path) with \(header ?? "no header")")
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    expectRefusal(response, .unauthorized, secrets: [RelayFixtures.token])
                }
            }
        }
        // Nothing reached the store: no node got a lease, no socket joined.
        let statistics = server.store.statistics()
        #expect(statistics.presence == PresenceStatistics())
        #expect(server.logged().isEmpty)
    }

    @Test("the relay token is accepted on every relay route (events aside, which streams)")
    func authorized() async throws {
        try await RelayServer().run { client in
            for (method, path, body) in Self.routes where path != "/relay/v1/events" {
                let response = try await client.send(method, path, json: body)
                #expect(response.status == .ok, "\(method) \(path): \(response.text)")
            }
        }
    }

    @Test("the relay token does not open the app-facing routes, and app credentials do not open relay routes")
    func separateCredentials() async throws {
        try await RelayServer().run { client in
            let relay = try await client.send(.post, "/pusher/auth", json: "{}")
            #expect(relay.status != .ok)
            let response = try await client.send(.put, "/relay/v1/nodes/r1", authorization: "Bearer " + Fixtures.appSecret)
            #expect(response.status == .unauthorized)
        }
    }
}
