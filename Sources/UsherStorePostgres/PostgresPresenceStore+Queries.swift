import Logging
import PostgresNIO
public import UsherCore
import UsherCrypto

extension PostgresPresenceStore {
    public func presence(app: String, channel: String) async throws -> PresenceSnapshot? {
        try await read { connection, logger in
            try await Self.presence(app: app, channel: channel, on: connection, logger: logger)
        }
    }

    public func members(app: String, channel: String, withUserInfo: Bool) async throws -> [PresenceMember] {
        guard withUserInfo else {
            return try await read { connection, logger in
                try await connection.rows(
                    "SELECT user_id FROM usher_members WHERE app = \(app) AND channel = \(channel) ORDER BY user_id",
                    logger: logger
                ) { PresenceMember(userID: try $0.decode(String.self)) }
            }
        }
        return try await read { connection, logger in
            try await Self.members(app: app, channel: channel, on: connection, logger: logger)
        }
    }

    public func channels(app: String, prefix: String?) async throws -> [ChannelSummary] {
        try await read { connection, logger in
            try await connection.rows(
                """
                SELECT c.channel, c.socket_count, c.is_presence,
                    (SELECT count(*) FROM usher_members m WHERE m.app = c.app AND m.channel = c.channel)::int
                FROM usher_channels c WHERE c.app = \(app) AND (\(prefix)::text IS NULL OR starts_with(c.channel, \(prefix)))
                ORDER BY c.channel
                """, logger: logger
            ) {
                let (name, sockets, isPresence, users) = try $0.decode((String, Int, Bool, Int).self)
                return ChannelSummary(name: name, subscriptionCount: sockets, userCount: isPresence ? users : nil)
            }
        }
    }

    public func counts(app: String, channel: String) async throws -> (subscriptions: Int, users: Int) {
        let row = try await read { connection, logger in
            try await connection.rows(
                """
                SELECT coalesce((SELECT socket_count FROM usher_channels WHERE app = \(app) AND channel = \(channel)), 0),
                    (SELECT count(*) FROM usher_members WHERE app = \(app) AND channel = \(channel))::int
                """, logger: logger
            ) { try $0.decode((Int, Int).self) }.first
        }
        return (row?.0 ?? 0, row?.1 ?? 0)
    }

    public func onlineUsers(app: String, among userIDs: [String]) async throws -> [String] {
        guard !userIDs.isEmpty else { return [] }
        let channels = userIDs.map(ChannelKind.serverToUserChannel)
        return try await read { connection, logger in
            try await connection.rows(
                """
                SELECT r.user_id FROM unnest(\(userIDs)::text[], \(channels)::text[]) WITH ORDINALITY AS r(user_id, channel, ordinal)
                WHERE EXISTS (SELECT 1 FROM usher_members m WHERE m.app = \(app) AND m.channel = r.channel AND m.user_id = r.user_id)
                ORDER BY r.ordinal
                """, logger: logger
            ) { try $0.decode(String.self) }
        }
    }

    public func statistics() async throws -> StoreStatistics {
        try await read { connection, logger in
            let totals = try await connection.rows(
                """
                SELECT (SELECT count(*) FROM usher_members)::int, (SELECT count(*) FROM usher_channels)::int,
                    (SELECT count(*) FROM usher_sockets)::int, (SELECT count(*) FROM usher_subscriptions)::int,
                    (SELECT count(*) FROM usher_nodes)::int, lease_expiries::int
                FROM usher_meta
                """, logger: logger
            ) { try $0.decode((Int, Int, Int, Int, Int, Int).self) }.first
            guard let totals else { throw PostgresStoreError.corruptRow }
            let counts = try await connection.rows("SELECT kind, count FROM usher_event_counts", logger: logger) {
                try $0.decode((String, Int).self)
            }
            var byKind: [StreamEvent.Kind: Int] = [:]
            for (kind, count) in counts { if let kind = StreamEvent.Kind(rawValue: kind) { byKind[kind] = count } }
            return StoreStatistics(
                presence: PresenceStatistics(
                    members: totals.0, channels: totals.1, sockets: totals.2, subscriptions: totals.3, nodes: totals.4),
                leaseExpiries: totals.5, eventsByKind: byKind)
        }
    }

    /// Runs a read on a pooled connection, with the same availability rules as writes.
    func read<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Result
    ) async throws(PostgresStoreError) -> Result {
        try await available { [self] in
            try await client.withConnection { connection in try await body(connection, logger) }
        }
    }

    /// A presence channel's members with user_info, ordered by user id; nil when it has none.
    static func presence(
        app: String, channel: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> PresenceSnapshot? {
        let members = try await members(app: app, channel: channel, on: connection, logger: logger)
        return members.isEmpty ? nil : PresenceSnapshot(members: members)
    }

    private static func members(
        app: String, channel: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [PresenceMember] {
        try await connection.rows(
            """
            SELECT user_id, user_info FROM usher_members WHERE app = \(app) AND channel = \(channel) ORDER BY user_id
            """, logger: logger
        ) {
            let (userID, info) = try $0.decode((String, String?).self)
            return PresenceMember(userID: userID, userInfoJSON: info)
        }
    }
}
