import Logging
import PostgresNIO
import UsherCore
import UsherCrypto

/// One group commit in PostgreSQL: a group's joins, leaves and disconnects applied as Core's `AppState` applies
/// them, in order, to the rows they touch, loaded and written back with a fixed number of set-based statements
/// whatever the group's size (DESIGN.md, Stores).
///
/// Runs inside the transaction that holds the write lock, so the rows read stay true until commit. The rules are
/// Core's, restated over rows: a user's first socket on a presence channel adds the member (`channel_occupied`
/// first when the channel was vacant), a further socket only counts, a member in grace who rejoins causes nothing; a
/// member's last socket starts grace (or removes the member when grace is off); a channel with no sockets and no
/// members is vacated; a socket belongs to the last node that reported it. `PostgresModelTests` checks every
/// result, event and row against Core's registry, batches included.
struct PresenceGroup {
    struct SocketKey: Hashable {
        let app: String
        let socketID: String
    }

    struct ChannelKey: Hashable {
        let app: String
        let channel: String
    }

    struct SubscriptionKey: Hashable {
        let app: String
        let socketID: String
        let channel: String
    }

    struct MemberKey: Hashable {
        let app: String
        let channel: String
        let userID: String
    }

    /// A socket as loaded, then as the group leaves it.
    struct SocketRow {
        var node: String
        /// Its subscriptions in join order; `created` marks those made by this group (their rows are inserted).
        var subscriptions: [(channel: String, userID: String?, created: Int?)]
        let existed: Bool
        var exists = true
        var dirty = false
    }

    struct ChannelRow {
        let isPresence: Bool
        var socketCount: Int
        /// Members including those in grace.
        var memberCount: Int
        let existed: Bool
        var exists: Bool
        var dirty = false
    }

    struct MemberRow {
        var userInfo: String?
        /// Sockets; 0 while in grace.
        var socketCount: Int
        var graceDeadline: Int64?
        /// The ticket of a grace loaded from the database.
        var graceTicket: Int64?
        /// The position of a grace this group started among the group's graces (its ticket is assigned on write).
        var graceOrdinal: Int?
        let existed: Bool
        var exists: Bool
        var dirty = false
    }

    let graceDeadline: Int64?
    private(set) var events: [PresenceEvent] = []
    private var sockets: [SocketKey: SocketRow] = [:]
    private var channels: [ChannelKey: ChannelRow] = [:]
    private var members: [MemberKey: MemberRow] = [:]
    /// Every member of the channels whose joins answer the member list.
    private var rosters: [ChannelKey: Roster] = [:]

    /// A channel's members (user id → user_info text) and their listing, kept while members only arrive.
    struct Roster {
        var members: [String: String?] = [:]
        var listing: PresenceListing?

        mutating func add(_ userID: String, info: String?) {
            members[userID] = .some(info)
            listing?.append(userID: userID, userInfoJSON: info)
        }

        mutating func remove(_ userID: String) {
            members[userID] = nil
            listing = nil
        }

        mutating func snapshot() -> PresenceSnapshot? {
            guard !members.isEmpty else { return nil }
            if listing == nil {
                var built = PresenceListing()
                for (userID, info) in members { built.append(userID: userID, userInfoJSON: info) }
                listing = built
            }
            return listing?.snapshot
        }
    }
    /// Subscription rows loaded that the group deleted (or replaced by a newer row of the same key).
    private var deletedSubscriptions: [(app: String, socketID: String, channel: String)] = []
    private var createdCount = 0
    private var graceCount = 0

    /// Loads the rows `writes` touch, and every socket `owner` holds (for a snapshot), in three statements.
    static func load(
        _ writes: [PresenceWrite], socketsOf owner: NodeID? = nil, graceDeadline: Int64?, connection: PostgresConnection,
        logger: Logger
    ) async throws -> PresenceGroup {
        var group = PresenceGroup(graceDeadline: graceDeadline)
        var socketKeys = Set<SocketKey>()
        var channelKeys = Set<ChannelKey>()
        var memberKeys = Set<MemberKey>()
        var listed = Set<ChannelKey>()
        for write in writes {
            switch write {
            case .join(let subscription, _, _, let wantsPresence):
                socketKeys.insert(SocketKey(app: subscription.app, socketID: subscription.socketID.description))
                let channel = ChannelKey(app: subscription.app, channel: subscription.channel.name)
                channelKeys.insert(channel)
                if let member = subscription.member {
                    memberKeys.insert(MemberKey(app: channel.app, channel: channel.channel, userID: member.userID))
                    if wantsPresence { listed.insert(channel) }
                }
            case .leave(let app, let socketID, let channel):
                socketKeys.insert(SocketKey(app: app, socketID: socketID.description))
                channelKeys.insert(ChannelKey(app: app, channel: channel.name))
            case .disconnect(let app, let socketID):
                socketKeys.insert(SocketKey(app: app, socketID: socketID.description))
            case .renew:
                break
            }
        }
        let socketList = Array(socketKeys)
        let socketRows = try await connection.rows(
            """
            WITH k AS (
                SELECT k.app, k.socket_id, k.node FROM usher_sockets k
                JOIN unnest(\(socketList.map(\.app))::text[], \(socketList.map(\.socketID))::text[]) AS r(app, socket_id)
                    ON k.app = r.app AND k.socket_id = r.socket_id
                UNION
                SELECT app, socket_id, node FROM usher_sockets WHERE node = \(owner?.description))
            SELECT k.app, k.socket_id, k.node, s.channel, s.user_id FROM k
            LEFT JOIN usher_subscriptions s ON s.app = k.app AND s.socket_id = k.socket_id
            ORDER BY k.app, k.socket_id, s.position
            """, logger: logger
        ) { try $0.decode((String, String, String, String?, String?).self) }
        for (app, socketID, node, channel, userID) in socketRows {
            let key = SocketKey(app: app, socketID: socketID)
            if group.sockets[key] == nil { group.sockets[key] = SocketRow(node: node, subscriptions: [], existed: true) }
            if let channel {
                group.sockets[key]?.subscriptions.append((channel: channel, userID: userID, created: nil))
                channelKeys.insert(ChannelKey(app: app, channel: channel))
                if let userID { memberKeys.insert(MemberKey(app: app, channel: channel, userID: userID)) }
            }
        }
        let channelList = Array(channelKeys)
        // Listed channels are counted from their loaded rosters instead (below): one read of their members, not two.
        let channelRows = try await connection.rows(
            """
            SELECT c.app, c.channel, c.is_presence, c.socket_count,
                CASE WHEN r.listed THEN 0
                    ELSE (SELECT count(*) FROM usher_members m WHERE m.app = c.app AND m.channel = c.channel)::int END
            FROM usher_channels c
            JOIN unnest(\(channelList.map(\.app))::text[], \(channelList.map(\.channel))::text[],
                \(channelList.map(listed.contains))::boolean[]) AS r(app, channel, listed)
                ON c.app = r.app AND c.channel = r.channel
            """, logger: logger
        ) { try $0.decode((String, String, Bool, Int, Int).self) }
        for (app, channel, isPresence, socketCount, memberCount) in channelRows {
            group.channels[ChannelKey(app: app, channel: channel)] = ChannelRow(
                isPresence: isPresence, socketCount: socketCount, memberCount: memberCount, existed: true, exists: true)
        }
        let memberList = Array(memberKeys)
        let listedList = Array(listed)
        for channel in listed { group.rosters[channel] = Roster() }
        let memberRows = try await connection.rows(
            """
            SELECT m.app, m.channel, m.user_id, m.user_info, m.socket_count, m.grace_deadline, m.grace_ticket
            FROM usher_members m
            JOIN unnest(\(memberList.map(\.app))::text[], \(memberList.map(\.channel))::text[], \(memberList.map(\.userID))::text[])
                AS r(app, channel, user_id) ON m.app = r.app AND m.channel = r.channel AND m.user_id = r.user_id
            UNION
            SELECT m.app, m.channel, m.user_id, m.user_info, m.socket_count, m.grace_deadline, m.grace_ticket
            FROM usher_members m
            JOIN unnest(\(listedList.map(\.app))::text[], \(listedList.map(\.channel))::text[]) AS r(app, channel)
                ON m.app = r.app AND m.channel = r.channel
            """, logger: logger
        ) { try $0.decode((String, String, String, String?, Int, Int64?, Int64?).self) }
        for (app, channel, userID, info, socketCount, deadline, ticket) in memberRows {
            group.members[MemberKey(app: app, channel: channel, userID: userID)] = MemberRow(
                userInfo: info, socketCount: socketCount, graceDeadline: deadline, graceTicket: ticket, existed: true,
                exists: true)
            group.rosters[ChannelKey(app: app, channel: channel)]?.add(userID, info: info)
        }
        for (channel, roster) in group.rosters { group.channels[channel]?.memberCount = roster.members.count }
        return group
    }

    private init(graceDeadline: Int64?) {
        self.graceDeadline = graceDeadline
    }

    /// Applies one write, as the single call would after the writes before it.
    mutating func apply(_ write: PresenceWrite) -> PresenceWriteResult {
        switch write {
        case .join(let subscription, let node, let limits, let wantsPresence):
            return .joined(join(subscription, node: node.description, limits: limits, wantsPresence: wantsPresence))
        case .leave(let app, let socketID, let channel):
            leave(SocketKey(app: app, socketID: socketID.description), channel: channel.name)
        case .disconnect(let app, let socketID):
            disconnect(SocketKey(app: app, socketID: socketID.description))
        case .renew:
            break
        }
        return .done
    }

    /// Applies a node's full snapshot as Core's `PresenceRegistry.replaceNode` does: every reported subscription joins
    /// in snapshot order (never refused: the sockets exist already; a known one only moves to `node`), then the
    /// subscriptions `node` holds but did not report leave through grace, by app and socket id, each socket's channels
    /// in join order. The group must have been loaded with `socketsOf: node`.
    mutating func replace(node: NodeID, with subscriptions: [Subscription]) {
        let owner = node.description
        var reported = Set<SubscriptionKey>(minimumCapacity: subscriptions.count)
        for subscription in subscriptions {
            _ = join(subscription, node: owner, limits: nil, wantsPresence: false)
            reported.insert(
                SubscriptionKey(app: subscription.app, socketID: subscription.socketID.description, channel: subscription.channel.name))
        }
        let owned = sockets.filter { $0.value.exists && $0.value.node == owner }.sorted {
            $0.key.app != $1.key.app ? $0.key.app < $1.key.app : $0.key.socketID < $1.key.socketID
        }
        for (key, socket) in owned {
            for record in socket.subscriptions
            where !reported.contains(SubscriptionKey(app: key.app, socketID: key.socketID, channel: record.channel)) {
                leave(key, channel: record.channel)
            }
        }
    }

    private mutating func join(_ subscription: Subscription, node: String, limits: PresenceLimits?, wantsPresence: Bool) -> JoinResult {
        let socketKey = SocketKey(app: subscription.app, socketID: subscription.socketID.description)
        let channelKey = ChannelKey(app: subscription.app, channel: subscription.channel.name)
        let isPresence = subscription.channel.kind == .presence
        func presence() -> PresenceSnapshot? {
            guard wantsPresence, isPresence else { return nil }
            return rosters[channelKey]?.snapshot()
        }
        if let socket = sockets[socketKey], socket.exists, socket.subscriptions.contains(where: { $0.channel == channelKey.channel }) {
            claim(socketKey, for: node)
            return .alreadySubscribed(presence: presence())
        }
        var channel = channels[channelKey] ?? ChannelRow(isPresence: isPresence, socketCount: 0, memberCount: 0, existed: false, exists: false)
        let occupied = !channel.exists
        var memberAdded = false
        if isPresence, let member = subscription.member {
            let memberKey = MemberKey(app: channelKey.app, channel: channelKey.channel, userID: member.userID)
            if var row = members[memberKey], row.exists {
                // Another socket, or a rejoin within grace: counted, no events, the first user_info kept.
                row.socketCount += 1
                row.graceDeadline = nil
                row.graceTicket = nil
                row.graceOrdinal = nil
                row.dirty = true
                members[memberKey] = row
            } else {
                if let limits, channel.memberCount >= limits.maxMembers { return .refused(.membersFull) }
                let info = member.userInfo?.jsonText
                members[memberKey] = MemberRow(
                    userInfo: info, socketCount: 1, graceDeadline: nil, graceTicket: nil,
                    existed: members[memberKey]?.existed ?? false, exists: true, dirty: true)
                rosters[channelKey]?.add(member.userID, info: info)
                channel.memberCount += 1
                memberAdded = true
            }
        }
        channel.socketCount += 1
        channel.exists = true
        channel.dirty = true
        channels[channelKey] = channel
        if occupied { events.append(PresenceEvent(kind: .channelOccupied, app: channelKey.app, channel: channelKey.channel)) }
        if memberAdded, let member = subscription.member {
            events.append(
                PresenceEvent(kind: .memberAdded, app: channelKey.app, channel: channelKey.channel, userID: member.userID, userInfo: member.userInfo))
        }
        createdCount += 1
        let record = (channel: channelKey.channel, userID: subscription.member?.userID, created: Optional(createdCount))
        if var socket = sockets[socketKey], socket.exists {
            socket.subscriptions.append(record)
            sockets[socketKey] = socket
            claim(socketKey, for: node)
        } else {
            sockets[socketKey] = SocketRow(
                node: node, subscriptions: [record], existed: sockets[socketKey]?.existed ?? false, exists: true, dirty: true)
        }
        return .joined(memberAdded: memberAdded, presence: presence())
    }

    private mutating func claim(_ key: SocketKey, for node: String) {
        guard sockets[key]?.node != node else { return }
        sockets[key]?.node = node
        sockets[key]?.dirty = true
    }

    private mutating func leave(_ key: SocketKey, channel: String) {
        guard var socket = sockets[key], socket.exists, let position = socket.subscriptions.firstIndex(where: { $0.channel == channel }) else {
            return
        }
        let record = socket.subscriptions.remove(at: position)
        if record.created == nil { deletedSubscriptions.append((key.app, key.socketID, channel)) }
        if socket.subscriptions.isEmpty { socket.exists = false }
        sockets[key] = socket
        release(ChannelKey(app: key.app, channel: channel), userID: record.userID)
    }

    private mutating func disconnect(_ key: SocketKey) {
        guard var socket = sockets[key], socket.exists else { return }
        let records = socket.subscriptions
        socket.subscriptions = []
        socket.exists = false
        sockets[key] = socket
        for record in records {
            if record.created == nil { deletedSubscriptions.append((key.app, key.socketID, record.channel)) }
            release(ChannelKey(app: key.app, channel: record.channel), userID: record.userID)
        }
    }

    /// Uncounts one socket of a channel: a member's last socket starts grace, or removes the member when grace is
    /// off; a channel left with no sockets and no members is vacated.
    private mutating func release(_ key: ChannelKey, userID: String?) {
        guard var channel = channels[key], channel.exists else { return }
        channel.socketCount -= 1
        channel.dirty = true
        if let userID, var member = members[MemberKey(app: key.app, channel: key.channel, userID: userID)], member.exists {
            member.socketCount -= 1
            member.dirty = true
            if member.socketCount == 0 {
                if let graceDeadline {
                    graceCount += 1
                    member.graceDeadline = graceDeadline
                    member.graceTicket = nil
                    member.graceOrdinal = graceCount
                } else {
                    member.exists = false
                    channel.memberCount -= 1
                    rosters[key]?.remove(userID)
                    events.append(PresenceEvent(kind: .memberRemoved, app: key.app, channel: key.channel, userID: userID))
                }
            }
            members[MemberKey(app: key.app, channel: key.channel, userID: userID)] = member
        }
        if channel.socketCount == 0, channel.memberCount == 0 {
            channel.exists = false
            events.append(PresenceEvent(kind: .channelVacated, app: key.app, channel: key.channel))
        }
        channels[key] = channel
    }

    /// Writes the group's net change in two statements: deletes, then inserts and updates (a key deleted and made
    /// again in the group is deleted first, so its new row takes the end of its socket's join order).
    func save(connection: PostgresConnection, logger: Logger) async throws {
        var goneSockets: [SocketKey] = []
        var savedSockets: [(SocketKey, String)] = []
        var created: [(order: Int, app: String, socketID: String, channel: String, userID: String?)] = []
        for (key, socket) in sockets {
            if !socket.exists {
                if socket.existed { goneSockets.append(key) }
                continue
            }
            if socket.dirty { savedSockets.append((key, socket.node)) }
            for record in socket.subscriptions {
                if let order = record.created { created.append((order, key.app, key.socketID, record.channel, record.userID)) }
            }
        }
        created.sort { $0.order < $1.order }
        var goneChannels: [ChannelKey] = []
        var savedChannels: [(ChannelKey, ChannelRow)] = []
        for (key, channel) in channels where channel.dirty || channel.existed != channel.exists {
            if channel.exists { savedChannels.append((key, channel)) } else if channel.existed { goneChannels.append(key) }
        }
        var goneMembers: [MemberKey] = []
        var savedMembers: [(MemberKey, MemberRow)] = []
        for (key, member) in members where member.dirty {
            if member.exists { savedMembers.append((key, member)) } else if member.existed { goneMembers.append(key) }
        }
        let deleted = deletedSubscriptions
        if !(deleted.isEmpty && goneSockets.isEmpty && goneChannels.isEmpty && goneMembers.isEmpty) {
            try await connection.query(
                """
                WITH subscriptions AS (
                    DELETE FROM usher_subscriptions s
                    USING unnest(\(deleted.map(\.app))::text[], \(deleted.map(\.socketID))::text[], \(deleted.map(\.channel))::text[])
                        AS r(app, socket_id, channel)
                    WHERE s.app = r.app AND s.socket_id = r.socket_id AND s.channel = r.channel RETURNING 1),
                sockets AS (
                    DELETE FROM usher_sockets k
                    USING unnest(\(goneSockets.map(\.app))::text[], \(goneSockets.map(\.socketID))::text[]) AS r(app, socket_id)
                    WHERE k.app = r.app AND k.socket_id = r.socket_id RETURNING 1),
                members AS (
                    DELETE FROM usher_members m
                    USING unnest(\(goneMembers.map(\.app))::text[], \(goneMembers.map(\.channel))::text[], \(goneMembers.map(\.userID))::text[])
                        AS r(app, channel, user_id)
                    WHERE m.app = r.app AND m.channel = r.channel AND m.user_id = r.user_id RETURNING 1)
                DELETE FROM usher_channels c
                USING unnest(\(goneChannels.map(\.app))::text[], \(goneChannels.map(\.channel))::text[]) AS r(app, channel)
                WHERE c.app = r.app AND c.channel = r.channel
                """, logger: logger)
        }
        guard !(created.isEmpty && savedSockets.isEmpty && savedChannels.isEmpty && savedMembers.isEmpty) else { return }
        // Arrays carry no NULLs here: '' (never a user id or user_info text) and -1 (never a deadline or ticket) stand in.
        try await connection.query(
            """
            WITH tickets AS (
                SELECT CASE WHEN \(graceCount) > 0
                    THEN setval('usher_grace_tickets', nextval('usher_grace_tickets') + \(graceCount) - 1) - \(graceCount)
                    ELSE 0 END AS base),
            subscriptions AS (
                INSERT INTO usher_subscriptions (app, socket_id, channel, user_id)
                SELECT app, socket_id, channel, nullif(user_id, '')
                FROM unnest(\(created.map(\.app))::text[], \(created.map(\.socketID))::text[], \(created.map(\.channel))::text[],
                    \(created.map { $0.userID ?? "" })::text[]) WITH ORDINALITY AS r(app, socket_id, channel, user_id, ord)
                ORDER BY ord RETURNING 1),
            sockets AS (
                INSERT INTO usher_sockets (app, socket_id, node)
                SELECT * FROM unnest(\(savedSockets.map(\.0.app))::text[], \(savedSockets.map(\.0.socketID))::text[],
                    \(savedSockets.map(\.1))::text[])
                ON CONFLICT (app, socket_id) DO UPDATE SET node = excluded.node RETURNING 1),
            channels AS (
                INSERT INTO usher_channels (app, channel, is_presence, socket_count)
                SELECT * FROM unnest(\(savedChannels.map(\.0.app))::text[], \(savedChannels.map(\.0.channel))::text[],
                    \(savedChannels.map(\.1.isPresence))::boolean[], \(savedChannels.map { Int32($0.1.socketCount) })::int[])
                ON CONFLICT (app, channel) DO UPDATE SET socket_count = excluded.socket_count RETURNING 1)
            INSERT INTO usher_members (app, channel, user_id, user_info, socket_count, grace_deadline, grace_ticket)
            SELECT r.app, r.channel, r.user_id, nullif(r.user_info, ''), r.socket_count, nullif(r.deadline, -1),
                CASE WHEN r.ordinal > 0 THEN tickets.base + r.ordinal ELSE nullif(r.ticket, -1) END
            FROM tickets, unnest(\(savedMembers.map(\.0.app))::text[], \(savedMembers.map(\.0.channel))::text[],
                \(savedMembers.map(\.0.userID))::text[], \(savedMembers.map { $0.1.userInfo ?? "" })::text[],
                \(savedMembers.map { Int32($0.1.socketCount) })::int[], \(savedMembers.map { $0.1.graceDeadline ?? -1 })::bigint[],
                \(savedMembers.map { $0.1.graceTicket ?? -1 })::bigint[], \(savedMembers.map { Int64($0.1.graceOrdinal ?? 0) })::bigint[])
                AS r(app, channel, user_id, user_info, socket_count, deadline, ticket, ordinal)
            ON CONFLICT (app, channel, user_id) DO UPDATE SET user_info = excluded.user_info,
                socket_count = excluded.socket_count, grace_deadline = excluded.grace_deadline, grace_ticket = excluded.grace_ticket
            """, logger: logger)
    }
}
