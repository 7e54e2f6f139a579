import Hummingbird
import HummingbirdTesting
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// Unsubscribes, disconnects, heartbeats, node snapshots, presence listing and metrics over the router.
@Suite struct RelayLifecycleTests {
    @Test("unsubscribe and socket disconnect answer {} and remove members (grace 0); repeats are no-ops")
    func unsubscribeAndDisconnect() async throws {
        let server = try RelayServer()
        try await server.run { client in
            _ = try await client.subscribe(try RelayFixtures.presence(socket: "1.1", user: "ann"))
            _ = try await client.subscribe(try RelayFixtures.presence(socket: "1.2", user: "bob"))
            _ = try await client.subscribe(RelayFixtures.subscribe(socket: "1.2", channel: "news", auth: nil))
            let leave = #"{"node":"r1","socket_id":"1.1","channel":"presence-room"}"#
            for _ in 0..<2 {
                let response = try await client.send(.delete, "/relay/v1/apps/3/subscriptions", json: leave)
                #expect(response.status == .ok)
                #expect(response.text == "{}")
            }
            #expect(try await client.presence().presenceIDs == ["bob"])
            for _ in 0..<2 {
                let response = try await client.send(.delete, "/relay/v1/apps/3/sockets/1.2")
                #expect(response.status == .ok)
                #expect(response.text == "{}")
            }
            let empty = try await client.presence()
            #expect(empty.status == .ok)
            #expect(empty.text == #"{"presence":{"ids":[],"hash":{},"count":0}}"#)
        }
        #expect(server.logged() == [
            "channel_occupied presence-room", "member_added ann", "member_added bob", "channel_occupied news",
            "member_removed ann", "member_removed bob", "channel_vacated presence-room", "channel_vacated news",
        ])
    }

    @Test("a heartbeat answers epoch and lease; a lapsed node loses its members and is told to resync")
    func heartbeat() async throws {
        let server = try RelayServer()
        try await server.run { client in
            let response = try await client.send(.put, "/relay/v1/nodes/relay-1.eu:9000")
            #expect(response.status == .ok)
            // Unknown node: it must send a snapshot.
            #expect(response.text == #"{"epoch":"\#(server.store.epoch)","lease_ms":5000,"resync":true,"apps":{"\#(Fixtures.appID)":{"cache_miss_webhooks":false,"client_event_webhooks":false,"client_events_per_second":10,"max_connections":0,"watchlist_max_ids":0}},"peers":[],"connections":{}}"#)
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r2", socket: "2.1", user: "bob"))
            server.clock.advance(by: 4000)
            let renewed = try await client.send(.put, "/relay/v1/nodes/relay-1.eu:9000")
            #expect(renewed.text == #"{"epoch":"\#(server.store.epoch)","lease_ms":5000,"resync":false,"apps":{"\#(Fixtures.appID)":{"cache_miss_webhooks":false,"client_event_webhooks":false,"client_events_per_second":10,"max_connections":0,"watchlist_max_ids":0}},"peers":[],"connections":{}}"#)
            server.clock.advance(by: 1000)
            server.store.advance()
            #expect(try await client.presence().presenceIDs == [])
            // r2's lease lapsed and its sockets are gone: the same epoch, but its next heartbeat says resync.
            let lapsed = try await client.send(.put, "/relay/v1/nodes/r2")
            #expect(lapsed.text == #"{"epoch":"\#(server.store.epoch)","lease_ms":5000,"resync":true,"apps":{"\#(Fixtures.appID)":{"cache_miss_webhooks":false,"client_event_webhooks":false,"client_events_per_second":10,"max_connections":0,"watchlist_max_ids":0}},"peers":[],"connections":{}}"#)
        }
        #expect(server.logged().suffix(2) == ["member_removed bob", "channel_vacated presence-room"])
        let statistics = server.store.statistics()
        #expect(statistics.leaseExpiries == 1)
        #expect(statistics.presence.nodes == 2)
    }

    @Test("a node snapshot replaces that node's state: new entries join, missing ones leave, others' stay")
    func snapshot() async throws {
        let server = try RelayServer()
        try await server.run { client in
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r1", socket: "1.1", user: "ann"))
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r1", socket: "1.2", user: "bob"))
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r2", socket: "2.1", user: "cy"))
            let body = JSONValue.object(["subscriptions": .array([
                RelayFixtures.snapshotEntry(socket: "1.2", channel: "presence-room", user: "bob"),
                RelayFixtures.snapshotEntry(socket: "1.3", channel: "presence-room", user: "dee"),
                RelayFixtures.snapshotEntry(socket: "1.3", channel: "news"),
            ])]).jsonText
            let response = try await client.send(.put, "/relay/v1/nodes/r1/sockets", json: body)
            #expect(response.status == .ok)
            #expect(response.text == #"{"epoch":"\#(server.store.epoch)","lease_ms":5000,"resync":false,"apps":{"\#(Fixtures.appID)":{"cache_miss_webhooks":false,"client_event_webhooks":false,"client_events_per_second":10,"max_connections":0,"watchlist_max_ids":0}},"peers":[],"connections":{}}"#)
            #expect(try await client.presence().presenceIDs == ["bob", "cy", "dee"])
            let mark = server.store.log.latest
            let again = try await client.send(.put, "/relay/v1/nodes/r1/sockets", json: body)
            #expect(again.status == .ok)
            #expect(server.store.log.latest == mark, "a repeated snapshot must change nothing")
            let emptied = try await client.send(.put, "/relay/v1/nodes/r1/sockets", json: #"{"subscriptions":[]}"#)
            #expect(emptied.status == .ok)
            #expect(try await client.presence().presenceIDs == ["cy"])
        }
        #expect(server.logged() == [
            "channel_occupied presence-room", "member_added ann", "member_added bob", "member_added cy",
            "member_added dee", "channel_occupied news", "member_removed ann",
            "member_removed bob", "member_removed dee", "channel_vacated news",
        ])
    }

    @Test("GET presence lists members with their user_info; an unknown channel is the empty presence object")
    func presenceListing() async throws {
        try await RelayServer().run { client in
            let none = try await client.presence("presence-nobody")
            #expect(none.text == #"{"presence":{"ids":[],"hash":{},"count":0}}"#)
            _ = try await client.subscribe(try RelayFixtures.presence(socket: "1.1", user: "ann", info: .object(["name": .string("Ann")])))
            let one = try await client.presence()
            #expect(one.status == .ok)
            #expect(one.headers[.contentType] == "application/json")
            #expect(one.text == #"{"presence":{"ids":["ann"],"hash":{"ann":{"name":"Ann"}},"count":1}}"#)
        }
    }

    @Test("/metrics shows presence gauges and request counters by route and status after relay calls")
    func metrics() async throws {
        try await RelayServer(limits: PresenceLimits(maxMembers: 1)).run { client in
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r1", socket: "1.1", user: "ann"))
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r2", socket: "2.1", user: "ann"))
            _ = try await client.subscribe(try RelayFixtures.presence(node: "r2", socket: "2.2", user: "bob"))
            _ = try await client.send(.put, "/relay/v1/nodes/r1")
            _ = try await client.send(.put, "/relay/v1/nodes/r1", authorization: nil)
            let response = try await client.send(.get, "/metrics", authorization: nil)
            #expect(response.status == .ok)
            let text = response.text
            for line in [
                // Gauges print as floating point, counters as integers.
                "usher_presence_members 1.0", "usher_presence_channels 1.0", "usher_presence_sockets 2.0",
                "usher_relay_nodes 2.0", "usher_lease_expiries_total 0",
                #"usher_events_logged_total{kind="member_added"} 1"#,
                #"usher_events_logged_total{kind="channel_occupied"} 1"#,
                #"usher_http_requests_total{route="/relay/v1/apps/{app}/subscriptions",status="200"} 2"#,
                #"usher_http_requests_total{route="/relay/v1/apps/{app}/subscriptions",status="409"} 1"#,
                #"usher_http_requests_total{route="/relay/v1/nodes/{node}",status="200"} 1"#,
                #"usher_http_requests_total{route="/relay/v1/nodes/{node}",status="401"} 1"#,
            ] {
                #expect(text.split(separator: "\n").contains { $0 == line }, "missing \(line) in:\n\(text)")
            }
        }
    }
}
