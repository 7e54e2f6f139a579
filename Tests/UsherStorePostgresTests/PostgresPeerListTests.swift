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
}
