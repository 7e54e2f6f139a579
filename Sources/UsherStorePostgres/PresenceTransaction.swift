import Logging
import PostgresNIO
import UsherCore
import UsherCrypto

/// The presence rules of Core's `AppState` and `ChannelState`, applied to rows inside one transaction that holds the
/// store's write lock, collecting the events each move causes in order.
///
/// Rows read under the write lock decide `member_added`/`member_removed`: the lock is taken before the first read, so
/// two instances racing on one user see each other's commits and never both add (or both remove) the member.
struct PresenceTransaction {
    let connection: PostgresConnection
    let logger: Logger
    /// Milliseconds on the deployment's shared clock, read once when the lock was taken.
    let now: Int64
    let configuration: PresenceRegistry.Configuration
    /// Whether the node whose lease the lock statement renewed already held one (false when none was renewed).
    let nodeWasKnown: Bool
    private(set) var events: [PresenceEvent] = []

    init(
        connection: PostgresConnection, logger: Logger, now: Int64, configuration: PresenceRegistry.Configuration,
        nodeWasKnown: Bool
    ) {
        self.connection = connection
        self.logger = logger
        self.now = now
        self.configuration = configuration
        self.nodeWasKnown = nodeWasKnown
    }

    /// When a member whose last socket leaves now is removed, or nil when grace is off.
    var graceDeadline: Int64? { configuration.graceMillis > 0 ? now + configuration.graceMillis : nil }

    /// Subscribes a socket (Core's `AppState.subscribe`); `limits` nil never refuses (resyncs).
    mutating func subscribe(_ subscription: Subscription, node: NodeID, limits: PresenceLimits?) async throws
        -> JoinOutcome
    {
        let app = subscription.app
        let socket = subscription.socketID.description
        let channel = subscription.channel.name
        let userID = subscription.member?.userID
        // One read decides everything (the write lock keeps it true until commit), one statement writes it.
        let known = try await connection.rows(
            """
            SELECT EXISTS (SELECT 1 FROM usher_subscriptions
                    WHERE app = \(app) AND socket_id = \(socket) AND channel = \(channel)),
                EXISTS (SELECT 1 FROM usher_channels WHERE app = \(app) AND channel = \(channel)),
                EXISTS (SELECT 1 FROM usher_members WHERE app = \(app) AND channel = \(channel) AND user_id = \(userID)),
                (SELECT count(*) FROM usher_members WHERE app = \(app) AND channel = \(channel))::int
            """, logger: logger
        ) { try $0.decode((Bool, Bool, Bool, Int).self) }.first
        guard let (subscribed, channelExists, isMember, memberCount) = known else { throw PostgresStoreError.corruptRow }
        if subscribed {
            try await claim(app: app, socket: socket, for: node)
            return .alreadySubscribed
        }
        let added = isMember ? nil : subscription.member
        if added != nil, let limits, memberCount >= limits.maxMembers { return .refused(.membersFull) }
        // A known member (perhaps in grace) counts another socket and keeps its first user_info.
        try await connection.query(
            """
            WITH member AS (
                INSERT INTO usher_members (app, channel, user_id, user_info, socket_count)
                SELECT \(app), \(channel), \(userID)::text, \(subscription.member?.userInfo?.jsonText)::text, 1
                WHERE \(userID)::text IS NOT NULL
                ON CONFLICT (app, channel, user_id) DO UPDATE
                SET socket_count = usher_members.socket_count + 1, grace_deadline = NULL, grace_ticket = NULL
                RETURNING 1),
            channel AS (
                INSERT INTO usher_channels (app, channel, is_presence, socket_count)
                VALUES (\(app), \(channel), \(subscription.channel.kind == .presence), 1)
                ON CONFLICT (app, channel) DO UPDATE SET socket_count = usher_channels.socket_count + 1
                RETURNING 1),
            subscribed AS (
                INSERT INTO usher_subscriptions (app, socket_id, channel, user_id)
                VALUES (\(app), \(socket), \(channel), \(userID)) RETURNING 1)
            INSERT INTO usher_sockets (app, socket_id, node) VALUES (\(app), \(socket), \(node.description))
            ON CONFLICT (app, socket_id) DO UPDATE SET node = excluded.node WHERE usher_sockets.node <> excluded.node
            """, logger: logger)
        let occupied = !channelExists
        var joined: [PresenceEvent] = []
        if occupied { joined.append(PresenceEvent(kind: .channelOccupied, app: app, channel: channel)) }
        if let added {
            joined.append(
                PresenceEvent(kind: .memberAdded, app: app, channel: channel, userID: added.userID, userInfo: added.userInfo))
        }
        events += joined
        return .joined(memberAdded: added != nil, events: joined)
    }

    /// Unsubscribes a socket from one channel (Core's `AppState.unsubscribe`); unknown subscriptions are ignored.
    mutating func unsubscribe(app: String, socket: String, channel: String, graceDeadline: Int64?) async throws {
        // The socket row goes too when this was its last subscription (the count reads the statement's snapshot,
        // taken before the delete).
        let removed = try await connection.rows(
            """
            WITH gone AS (
                DELETE FROM usher_subscriptions WHERE app = \(app) AND socket_id = \(socket) AND channel = \(channel)
                RETURNING user_id),
            emptied AS (
                DELETE FROM usher_sockets WHERE app = \(app) AND socket_id = \(socket) AND EXISTS (SELECT 1 FROM gone)
                AND (SELECT count(*) FROM usher_subscriptions WHERE app = \(app) AND socket_id = \(socket)) = 1)
            SELECT user_id FROM gone
            """, logger: logger
        ) { try $0.decode(String?.self) }
        guard let userID = removed.first else { return }
        try await release(app: app, channel: channel, userID: userID, graceDeadline: graceDeadline)
    }

    /// Unsubscribes a socket from all its channels in join order (Core's `AppState.dropSocket`).
    mutating func dropSocket(app: String, socket: String, graceDeadline: Int64?) async throws {
        try await connection.query(
            "DELETE FROM usher_sockets WHERE app = \(app) AND socket_id = \(socket)", logger: logger)
        let records = try await connection.rows(
            """
            WITH gone AS (DELETE FROM usher_subscriptions WHERE app = \(app) AND socket_id = \(socket)
                RETURNING channel, user_id, position)
            SELECT channel, user_id FROM gone ORDER BY position
            """, logger: logger
        ) { try $0.decode((String, String?).self) }
        for (channel, userID) in records {
            try await release(app: app, channel: channel, userID: userID, graceDeadline: graceDeadline)
        }
    }

    /// Drops every socket `node` owns, without grace, by app then socket id (Core's `expireLease`), and forgets it.
    ///
    /// Set-based, so a dead node costs five round trips under the write lock whatever its size (one `dropSocket` per
    /// socket held the lock for seconds with thousands). The first statement works out the events Core's loop
    /// emits, in its order: rows are numbered as the loop visits them (app, socket id, join order); a member whose
    /// sockets are all on the node is removed at its last row, and a channel whose sockets are all on it is vacated
    /// at its last row, right after that row's member, when every one of its members (those in grace count) goes too.
    mutating func expireLease(of node: String) async throws {
        try await connection.query("DELETE FROM usher_nodes WHERE node = \(node)", logger: logger)
        let lost = try await connection.rows(
            """
            WITH dead AS (
                SELECT s.app, s.channel, s.user_id, row_number() OVER (ORDER BY s.app, s.socket_id, s.position) AS ord
                FROM usher_subscriptions s JOIN usher_sockets k ON k.app = s.app AND k.socket_id = s.socket_id
                WHERE k.node = \(node)),
            member_loss AS (
                SELECT d.app, d.channel, d.user_id, max(d.ord) AS ord FROM dead d JOIN usher_members m
                    ON m.app = d.app AND m.channel = d.channel AND m.user_id = d.user_id
                GROUP BY d.app, d.channel, d.user_id, m.socket_count HAVING count(*) = m.socket_count),
            channel_loss AS (
                SELECT d.app, d.channel, max(d.ord) AS ord FROM dead d JOIN usher_channels c
                    ON c.app = d.app AND c.channel = d.channel
                GROUP BY d.app, d.channel, c.socket_count HAVING count(*) = c.socket_count)
            SELECT ord, 0 AS step, app, channel, user_id FROM member_loss
            UNION ALL
            SELECT l.ord, 1, l.app, l.channel, NULL FROM channel_loss l
            WHERE (SELECT count(*) FROM usher_members m WHERE m.app = l.app AND m.channel = l.channel)
                = (SELECT count(*) FROM member_loss r WHERE r.app = l.app AND r.channel = l.channel)
            ORDER BY 1, 2
            """, logger: logger
        ) { try $0.decode((Int64, Int32, String, String, String?).self) }
        try await connection.query(
            """
            WITH gone AS (
                DELETE FROM usher_subscriptions s USING usher_sockets k
                WHERE k.node = \(node) AND s.app = k.app AND s.socket_id = k.socket_id
                RETURNING s.app, s.channel, s.user_id),
            channels AS (
                UPDATE usher_channels c SET socket_count = c.socket_count - g.n
                FROM (SELECT app, channel, count(*)::int AS n FROM gone GROUP BY app, channel) g
                WHERE c.app = g.app AND c.channel = g.channel RETURNING 1),
            members AS (
                UPDATE usher_members m SET socket_count = m.socket_count - g.n
                FROM (SELECT app, channel, user_id, count(*)::int AS n FROM gone WHERE user_id IS NOT NULL
                    GROUP BY app, channel, user_id) g
                WHERE m.app = g.app AND m.channel = g.channel AND m.user_id = g.user_id RETURNING 1)
            DELETE FROM usher_sockets WHERE node = \(node)
            """, logger: logger)
        var removed: (apps: [String], channels: [String], users: [String]) = ([], [], [])
        var vacated: (apps: [String], channels: [String]) = ([], [])
        for (_, _, app, channel, userID) in lost {
            if let userID {
                removed.apps.append(app)
                removed.channels.append(channel)
                removed.users.append(userID)
                events.append(PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID))
            } else {
                vacated.apps.append(app)
                vacated.channels.append(channel)
                events.append(PresenceEvent(kind: .channelVacated, app: app, channel: channel))
            }
        }
        try await connection.query(
            """
            DELETE FROM usher_members WHERE (app, channel, user_id) IN
                (SELECT * FROM unnest(\(removed.apps)::text[], \(removed.channels)::text[], \(removed.users)::text[]))
            """, logger: logger)
        try await connection.query(
            """
            DELETE FROM usher_channels WHERE (app, channel) IN
                (SELECT * FROM unnest(\(vacated.apps)::text[], \(vacated.channels)::text[]))
            """, logger: logger)
    }

    /// Removes a member whose grace ran out, if it is still the grace `ticket` started.
    mutating func expireGrace(app: String, channel: String, userID: String, ticket: Int64) async throws {
        guard
            try await connection.returnsRow(
                """
                DELETE FROM usher_members WHERE app = \(app) AND channel = \(channel) AND user_id = \(userID)
                AND grace_ticket = \(ticket) RETURNING 1
                """, logger: logger)
        else { return }
        events.append(PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID))
        try await vacateIfEmpty(app: app, channel: channel)
    }

    /// Moves the socket to `node` (a socket belongs to the last node reporting it), creating it if new.
    private func claim(app: String, socket: String, for node: NodeID) async throws {
        try await connection.query(
            """
            INSERT INTO usher_sockets (app, socket_id, node) VALUES (\(app), \(socket), \(node.description))
            ON CONFLICT (app, socket_id) DO UPDATE SET node = excluded.node WHERE usher_sockets.node <> excluded.node
            """, logger: logger)
    }

    /// Uncounts one socket of a channel (Core's `ChannelState.release`): a member's last socket starts grace, or
    /// removes the member when there is none; an empty channel is vacated.
    private mutating func release(app: String, channel: String, userID: String?, graceDeadline: Int64?) async throws {
        let counts = try await connection.rows(
            """
            WITH channel AS (
                UPDATE usher_channels SET socket_count = socket_count - 1
                WHERE app = \(app) AND channel = \(channel) RETURNING socket_count),
            member AS (
                UPDATE usher_members SET socket_count = socket_count - 1
                WHERE app = \(app) AND channel = \(channel) AND user_id = \(userID) RETURNING socket_count)
            SELECT (SELECT socket_count FROM channel), (SELECT socket_count FROM member),
                (SELECT count(*) FROM usher_members WHERE app = \(app) AND channel = \(channel))::int
            """, logger: logger
        ) { try $0.decode((Int?, Int?, Int).self) }.first
        guard let (channelSockets, memberSockets, memberCount) = counts else { throw PostgresStoreError.corruptRow }
        var members = memberCount
        if let userID, memberSockets == 0 {
            if let graceDeadline {
                try await connection.query(
                    """
                    UPDATE usher_members SET grace_deadline = \(graceDeadline), grace_ticket = nextval('usher_grace_tickets')
                    WHERE app = \(app) AND channel = \(channel) AND user_id = \(userID)
                    """, logger: logger)
            } else {
                try await connection.query(
                    "DELETE FROM usher_members WHERE app = \(app) AND channel = \(channel) AND user_id = \(userID)",
                    logger: logger)
                events.append(PresenceEvent(kind: .memberRemoved, app: app, channel: channel, userID: userID))
                members -= 1
            }
        }
        // Vacant: no sockets and no members (those in grace count); the counts above are this transaction's own.
        guard channelSockets == 0, members == 0 else { return }
        try await connection.query(
            "DELETE FROM usher_channels WHERE app = \(app) AND channel = \(channel)", logger: logger)
        events.append(PresenceEvent(kind: .channelVacated, app: app, channel: channel))
    }

    private mutating func vacateIfEmpty(app: String, channel: String) async throws {
        guard
            try await connection.returnsRow(
                """
                DELETE FROM usher_channels c WHERE app = \(app) AND channel = \(channel) AND socket_count = 0
                AND NOT EXISTS (SELECT 1 FROM usher_members m WHERE m.app = c.app AND m.channel = c.channel)
                RETURNING 1
                """, logger: logger)
        else { return }
        events.append(PresenceEvent(kind: .channelVacated, app: app, channel: channel))
    }
}
