import Testing
import UsherCore
import UsherStorePostgres

/// Peer discovery over PostgreSQL: every instance sees every node's forward URL while its lease lives.
@Suite(PostgresTestDatabase.enabled) struct PostgresPeerListTests {
    @Test("a node's heartbeat through one instance lists the nodes that announced through another; lapsed ones drop out")
    func acrossInstances() async throws {
        let clock = ManualClock()
        try await PostgresTestDatabase.withStores(2, presence: .init(graceMillis: 0, leaseMillis: 1000), now: clock.reader) { stores in
            let a = try NodeID(validating: "relay-a")
            let b = try NodeID(validating: "relay-b")
            #expect(try await stores[0].heartbeat(node: a, forwardURL: "http://10.0.0.1:6001").peers.isEmpty)
            #expect(try await stores[1].heartbeat(node: b, forwardURL: "http://10.0.0.2:6001").peers == [NodePeer(node: a, forwardURL: "http://10.0.0.1:6001")])
            // No URL given: the one announced before is kept.
            clock.advance(by: 600)
            _ = try await stores[0].heartbeat(node: a)
            #expect(try await stores[0].heartbeat(node: a).peers == [NodePeer(node: b, forwardURL: "http://10.0.0.2:6001")])
            // b's lease (1 s) lapses; a keeps heartbeating.
            clock.advance(by: 500)
            #expect(try await stores[1].heartbeat(node: a).peers.isEmpty)
        }
    }

    @Test("connection counts reported through either instance add up per app over the other live nodes")
    func connectionCounts() async throws {
        let clock = ManualClock()
        try await PostgresTestDatabase.withStores(2, presence: .init(graceMillis: 0, leaseMillis: 1000), now: clock.reader) { stores in
            let nodes = try ["relay-a", "relay-b", "relay-c"].map { try NodeID(validating: $0) }
            _ = try await stores[0].heartbeat(node: nodes[0], forwardURL: nil, connections: ["1": 5, "2": 1])
            _ = try await stores[1].heartbeat(node: nodes[1], forwardURL: nil, connections: ["1": 2])
            #expect(try await stores[1].heartbeat(node: nodes[2], forwardURL: nil, connections: [:]).connections == ["1": 7, "2": 1])
            // Its own count is not in a node's answer; no report keeps the last one.
            #expect(try await stores[0].heartbeat(node: nodes[0], forwardURL: nil, connections: nil).connections == ["1": 2])
            // b's lease lapses: its connections no longer count.
            clock.advance(by: 600)
            _ = try await stores[0].heartbeat(node: nodes[0], forwardURL: nil, connections: ["1": 4])
            clock.advance(by: 500)
            #expect(try await stores[1].heartbeat(node: nodes[2], forwardURL: nil, connections: [:]).connections == ["1": 4])
        }
    }
}
