import Testing
import UsherCore
import UsherCrypto
import UsherStorePostgres

/// Online status over PostgreSQL: a signed-in connection on any instance makes its user online for every instance,
/// and the log carries `user_online` / `user_offline`.
@Suite(PostgresTestDatabase.enabled) struct PostgresOnlineStatusTests {
    static func signIn(_ socket: String, _ user: String, node: NodeID) throws -> PresenceWrite {
        .join(
            try Subscription(
                app: "a", socketID: try SocketID(validating: socket), channel: try ChannelName(validating: "#server-to-user-" + user)),
            node: node, limits: PresenceLimits())
    }

    @Test("online users are answered by every instance, in the order asked; the log names the changes")
    func twoInstances() async throws {
        try await PostgresTestDatabase.withStores(2) { stores in
            let node = try NodeID(validating: "relay-1")
            let results = try await stores[0].apply([
                try Self.signIn("1.1", "ann", node: node), try Self.signIn("1.2", "ann", node: node), try Self.signIn("1.3", "bob", node: node),
            ])
            // Sign-ins answer no member list.
            #expect(results.map(\.join) == [.joined(memberAdded: true, presence: nil), .joined(memberAdded: false, presence: nil), .joined(memberAdded: true, presence: nil)])
            #expect(try await stores[1].onlineUsers(app: "a", among: ["cy", "bob", "ann"]) == ["bob", "ann"])
            #expect(try await stores[1].onlineUsers(app: "other", among: ["ann"]).isEmpty)
            _ = try await stores[1].apply([.disconnect(app: "a", socketID: try SocketID(validating: "1.1"))])
            #expect(try await stores[0].onlineUsers(app: "a", among: ["ann"]) == ["ann"], "another tab is still signed in")
            _ = try await stores[1].apply([.disconnect(app: "a", socketID: try SocketID(validating: "1.2"))])
            #expect(try await stores[0].onlineUsers(app: "a", among: ["ann", "bob"]) == ["bob"])
            guard case .events(let events) = try await stores[0].events(after: 0, limit: 100) else { throw CancellationError() }
            #expect(events.filter { $0.userID != nil }.map { "\($0.kind.rawValue) \($0.userID ?? "")" } == ["user_online ann", "user_online bob", "user_offline ann"])
        }
    }
}
