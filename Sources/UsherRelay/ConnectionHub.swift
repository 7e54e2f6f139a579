import Synchronization
import UsherCore
import UsherCrypto

/// A channel of one app.
struct ChannelKey: Hashable, Sendable {
    let app: String
    let channel: String
}

/// A presence subscribe waiting for Usher's answer (see ``ConnectionHub/beginJoin(app:channel:mayUseLocalList:)``).
struct PendingJoin: Sendable {
    fileprivate let key: ChannelKey
    fileprivate let id: Int
    fileprivate let generation: Int
    /// Whether the node's own member list answers the join (Usher is asked with `"presence": false`); otherwise
    /// member events are recorded for Usher's list.
    let usesLocalList: Bool
}

/// One socket's subscription to a channel: the channel_data Usher verified (presence) and the member's user id.
struct LocalSubscription: Sendable {
    let channelData: String?
    let userID: String?
}

/// The node's connections and who is subscribed to what, behind one lock.
///
/// Fan-out queues frames into each connection's outbox while holding the lock, so a socket's
/// `subscription_succeeded` is always queued before any member event for that channel.
final class ConnectionHub: Sendable {
    private struct Subscriber {
        let connection: RelayConnection
        let userID: String?
    }

    private struct State {
        var connections: [String: RelayConnection] = [:]
        /// Open connections per app id.
        var perApp: [String: Int] = [:]
        var subscribers: [ChannelKey: [String: Subscriber]] = [:]
        var subscriptions: [String: [String: LocalSubscription]] = [:]
        /// Members of each locally subscribed presence channel, kept current by Usher's member events.
        var members: [ChannelKey: MemberList] = [:]
        /// Member events seen while presence subscribes wait for Usher (see `beginJoin`), by join.
        var pendingJoins: [ChannelKey: [Int: [MemberChange]]] = [:]
        var nextJoinID = 0
        /// Counts the times member events may have been lost (a `reset`, a new Usher epoch, an event stream started
        /// afresh): a list built in an earlier generation may lack some, so it never stands in for Usher's.
        var generation = 0
        /// Whether the event stream is connected, so member events reach the lists as they happen.
        var following = false
        /// The last server-triggered event of each cache channel (PUSHER-PROTOCOL.md §9a), until it expires.
        var cached: [ChannelKey: CachedEvent] = [:]
    }

    /// A cache channel's last triggered event.
    struct CachedEvent: Sendable {
        let name: String
        /// The event's data, the string the app server sent.
        let data: String
        let frame: String
        /// When the triggering node published it (Unix milliseconds): the latest wins on every node, whatever order
        /// the peers' forwards arrive in.
        let published: Int64
        let expires: ContinuousClock.Instant

        /// Whether this event replaces `other` as the channel's last: published later, or at the same millisecond
        /// and after it in a fixed order, so that every node keeps the same one.
        func supersedes(_ other: CachedEvent) -> Bool {
            other.expires <= .now || (published, frame) >= (other.published, other.frame)
        }
    }

    /// Cache channels held at most (those expiring soonest go first beyond it).
    let maxCachedChannels: Int
    /// Told of every `pusher:cache_miss` sent (for `cache_miss` webhooks); called under the hub's lock.
    private let cacheMissed: (@Sendable (ChannelKey) -> Void)?

    init(maxCachedChannels: Int = 100_000, cacheMissed: (@Sendable (ChannelKey) -> Void)? = nil) {
        self.maxCachedChannels = maxCachedChannels
        self.cacheMissed = cacheMissed
    }

    /// A presence channel's members as the node tracks them.
    private struct MemberList {
        var members: [String: JSONValue]
        /// The generation whose events kept the list current since it was built; nil when unknown.
        let generation: Int?
        /// Joins that will answer from this list (see `beginJoin`): it outlives its last subscriber until they end.
        var pins = 0
    }

    private struct MemberChange {
        let added: Bool
        let userID: String
        let userInfo: JSONValue?
    }

    private let state = Mutex(State())

    /// Registers a new connection under a fresh, unused Pusher-format socket id.
    func connect(app: App, outboxLimit: Int, outboxByteLimit: Int = 1 << 20) -> RelayConnection {
        // With no quota there is always room.
        admit(app: app, outboxLimit: outboxLimit, outboxByteLimit: outboxByteLimit, quota: 0, elsewhere: 0)!
    }

    /// Registers a new connection as ``connect(app:outboxLimit:outboxByteLimit:)`` does, unless the app has `quota`
    /// connections already, counting `elsewhere` (the other nodes' last reported count): nil then. 0 is no quota.
    func admit(app: App, outboxLimit: Int, outboxByteLimit: Int, quota: Int, elsewhere: Int) -> RelayConnection? {
        state.withLock { state in
            let here = state.perApp[app.id, default: 0]
            if quota > 0, here + elsewhere >= quota { return nil }
            while true {
                let text = "\(UInt32.random(in: 1...UInt32.max)).\(UInt32.random(in: 1...UInt32.max))"
                guard state.connections[text] == nil, let socketID = try? SocketID(validating: text) else { continue }
                let connection = RelayConnection(socketID: socketID, app: app, outboxLimit: outboxLimit, outboxByteLimit: outboxByteLimit)
                state.connections[text] = connection
                state.perApp[app.id] = here + 1
                return connection
            }
        }
    }

    /// Open connections per app id, as the node heartbeat reports them.
    var connectionsPerApp: [String: Int] { state.withLock { $0.perApp } }

    /// Forgets a closed connection and all its subscriptions.
    func disconnect(_ connection: RelayConnection) {
        let socket = connection.socketID.description
        state.withLock { state in
            guard state.connections.removeValue(forKey: socket) != nil else { return }
            let left = state.perApp[connection.app.id, default: 1] - 1
            state.perApp[connection.app.id] = left > 0 ? left : nil
            let channels = state.subscriptions.removeValue(forKey: socket) ?? [:]
            for channel in channels.keys {
                Self.removeSubscriber(socket, from: ChannelKey(app: connection.app.id, channel: channel), in: &state)
            }
        }
    }

    /// Starts a presence subscribe before it goes to Usher, and decides where its member list comes from.
    ///
    /// The node's own list stands in for Usher's (``PendingJoin/usesLocalList``, sent as `"presence": false`, so a
    /// join into a big channel does not make Usher build and send every member) only when nothing casts doubt on it:
    /// `mayUseLocalList` (the caller knows of none, e.g. no node resync is pending), another local socket is
    /// subscribed (a channel joined for the first time has no list), the event stream is connected, and the list was
    /// built in the current generation (no `reset`, new epoch or fresh stream since). Such a list is the one the
    /// channel's local subscribers were answered with and kept current by member events: the new subscriber is
    /// registered with it in one critical section, so from then on it knows and hears exactly what they do. The join
    /// pins the list so it stays tracked until the join ends, even if its last subscriber leaves meanwhile.
    ///
    /// Otherwise Usher's answer lists the members as of its own handling of the subscribe; a member event after that
    /// can reach this node before the socket is registered, and would pass it by. Member events for the channel are
    /// recorded from now on, and `subscribe(…, join:)` applies them to Usher's list: each sets one user present or
    /// absent, so replaying some that the list already reflects changes nothing, and the ones it does not reflect
    /// bring it up to date.
    ///
    /// End with `subscribe` or `cancelJoin`.
    func beginJoin(app: String, channel: String, mayUseLocalList: Bool) -> PendingJoin {
        let key = ChannelKey(app: app, channel: channel)
        return state.withLock { state in
            state.nextJoinID += 1
            let local = mayUseLocalList && state.following && state.subscribers[key] != nil
                && state.members[key].map { $0.generation == state.generation } == true
            if local {
                state.members[key]?.pins += 1
            } else {
                state.pendingJoins[key, default: [:]][state.nextJoinID] = []
            }
            return PendingJoin(key: key, id: state.nextJoinID, generation: state.generation, usesLocalList: local)
        }
    }

    /// Ends a join that will not subscribe (refused, failed, or the socket closed).
    func cancelJoin(_ join: PendingJoin) {
        state.withLock { _ = Self.end(join, in: &$0) }
    }

    /// Ends a join: unpins its list, or stops recording and returns what was recorded.
    private static func end(_ join: PendingJoin, in state: inout State) -> [MemberChange] {
        if join.usesLocalList {
            state.members[join.key]?.pins -= 1
            if state.members[join.key]?.pins == 0, state.subscribers[join.key] == nil { state.members[join.key] = nil }
            return []
        }
        let changes = state.pendingJoins[join.key]?.removeValue(forKey: join.id) ?? []
        if state.pendingJoins[join.key]?.isEmpty == true { state.pendingJoins[join.key] = nil }
        return changes
    }

    /// The event stream is connected; `resumed` when it goes on from the last event seen, so none was missed.
    func eventStreamOpened(resumed: Bool) {
        state.withLock { state in
            state.following = true
            if !resumed { state.generation += 1 }
        }
    }

    /// The event stream ended; member events wait until it is back.
    func eventStreamClosed() {
        state.withLock { $0.following = false }
    }

    /// Member events may have been lost (a `reset`, or Usher restarted with a new epoch): no member list built so
    /// far answers a join from now on. The lists themselves stay, for the member diff that follows a reset.
    func distrustMemberLists() {
        state.withLock { $0.generation += 1 }
    }

    /// Records a subscription and queues `frame` (the `subscription_succeeded`) in the same critical section.
    ///
    /// `members` (Usher's list in its answer) starts the channel's tracked member list only when the node tracks none
    /// yet: an existing list is kept current by member events, and this answer may be older than the last of them.
    /// With a `join`, the member events recorded since `beginJoin` are applied to `members` first, and a changed list
    /// replaces the presence data in `frame`.
    func subscribe(
        _ connection: RelayConnection, to channel: String, _ subscription: LocalSubscription, frame: String, members: [String: JSONValue]?,
        join: PendingJoin? = nil
    ) {
        let key = ChannelKey(app: connection.app.id, channel: channel)
        let socket = connection.socketID.description
        state.withLock { state in
            let changes = join.map { Self.end($0, in: &state) } ?? []
            guard state.connections[socket] != nil, !connection.isClosed else { return }
            var members = members
            var frame = frame
            if var updated = members, !changes.isEmpty {
                for change in changes { updated[change.userID] = change.added ? (change.userInfo ?? .object([:])) : nil }
                if updated != members {
                    frame = PusherFrame.subscriptionSucceeded(channel: channel, presenceJSON: Self.presenceJSON(updated))
                    members = updated
                }
            }
            state.subscriptions[socket, default: [:]][channel] = subscription
            state.subscribers[key, default: [:]][socket] = Subscriber(connection: connection, userID: subscription.userID)
            if let members, state.members[key] == nil { state.members[key] = MemberList(members: members, generation: join?.generation) }
            connection.send(frame)
            Self.sendCached(key, to: connection, in: &state, missed: cacheMissed)
        }
    }

    /// Records a presence subscription Usher accepted without a member list (`"presence": false`) and queues its
    /// `subscription_succeeded`, built from the list the join pinned plus the subscriber's own member, with
    /// `ownInfo` unless the list has the user already (Usher keeps a member's first user_info).
    ///
    /// The own member goes into the frame only: Usher added it with this join, and the tracked list learns of it
    /// from the `member_added` that the other subscribers must still get.
    func subscribe(_ connection: RelayConnection, to channel: String, _ subscription: LocalSubscription, ownInfo: JSONValue, join: PendingJoin) {
        let key = ChannelKey(app: connection.app.id, channel: channel)
        let socket = connection.socketID.description
        state.withLock { state in
            defer { _ = Self.end(join, in: &state) }
            guard state.connections[socket] != nil, !connection.isClosed else { return }
            var members = state.members[key]?.members ?? [:]
            if let user = subscription.userID, members[user] == nil { members[user] = ownInfo }
            state.subscriptions[socket, default: [:]][channel] = subscription
            state.subscribers[key, default: [:]][socket] = Subscriber(connection: connection, userID: subscription.userID)
            connection.send(PusherFrame.subscriptionSucceeded(channel: channel, presenceJSON: Self.presenceJSON(members)))
            Self.sendCached(key, to: connection, in: &state, missed: cacheMissed)
        }
    }

    /// Right after a cache channel's `subscription_succeeded` (in the same critical section, so no live event can
    /// come between): its cached event, or `pusher:cache_miss`.
    private static func sendCached(
        _ key: ChannelKey, to connection: RelayConnection, in state: inout State, missed: (@Sendable (ChannelKey) -> Void)?
    ) {
        guard ChannelKind.isCache(key.channel) else { return }
        if let cached = state.cached[key], cached.expires > .now {
            connection.send(cached.frame)
        } else {
            state.cached[key] = nil
            connection.send(PusherFrame.cacheMiss(channel: key.channel))
            missed?(key)
        }
    }

    /// Delivers a server-triggered event like `deliver`, and keeps it as the channel's cached event when the channel
    /// is a cache channel; both in one critical section, so a subscriber gets either the event live or as its cached
    /// event, never neither or both.
    @discardableResult
    func deliverTriggered(_ frame: String, event: TriggeredEvent, to key: ChannelKey, exceptSocket: String?, ttl: Duration) -> Int {
        state.withLock { [maxCachedChannels] state in
            if ChannelKind.isCache(key.channel) {
                let now = ContinuousClock.now
                if state.cached[key] == nil, state.cached.count >= maxCachedChannels {
                    // Full: drop what expired and, if that is not enough, the tenth expiring soonest, so the next
                    // inserts do not each pay for a pass over the whole cache.
                    state.cached = state.cached.filter { $0.value.expires > now }
                    if state.cached.count >= maxCachedChannels {
                        let soonest = state.cached.sorted { $0.value.expires < $1.value.expires }.prefix(maxCachedChannels / 10)
                        for (evicted, _) in soonest { state.cached[evicted] = nil }
                    }
                }
                let cached = CachedEvent(name: event.name, data: event.data, frame: frame, published: event.published, expires: now + ttl)
                if state.cached[key].map(cached.supersedes) ?? true { state.cached[key] = cached }
            }
            return Self.deliver(frame, to: key, exceptSocket: exceptSocket, exceptUser: nil, in: state)
        }
    }

    /// A cache channel's cached event and the time it has left, if any.
    func cachedEvent(_ key: ChannelKey) -> (event: CachedEvent, ttl: Duration)? {
        state.withLock { state in
            guard let cached = state.cached[key] else { return nil }
            let left = cached.expires - .now
            return left > .zero ? (cached, left) : nil
        }
    }

    /// Pusher's presence data: `{"count":…,"ids":[…],"hash":{id: user_info}}`.
    private static func presenceJSON(_ members: [String: JSONValue]) -> String {
        JSONValue.object([
            "count": .integer(Int64(members.count)), "ids": .array(members.keys.sorted().map(JSONValue.string)), "hash": .object(members),
        ]).jsonText
    }

    /// How many channels the socket is subscribed to through `pusher:subscribe` (its sign-in channel not counted).
    func subscriptionCount(_ connection: RelayConnection) -> Int {
        state.withLock { state in
            (state.subscriptions[connection.socketID.description] ?? [:]).keys.count { !$0.hasPrefix("#") }
        }
    }

    /// Removes one subscription; returns whether the socket had it.
    @discardableResult
    func unsubscribe(_ connection: RelayConnection, from channel: String) -> Bool {
        let socket = connection.socketID.description
        return state.withLock { state in
            guard state.subscriptions[socket]?.removeValue(forKey: channel) != nil else { return false }
            Self.removeSubscriber(socket, from: ChannelKey(app: connection.app.id, channel: channel), in: &state)
            return true
        }
    }

    private static func removeSubscriber(_ socket: String, from key: ChannelKey, in state: inout State) {
        state.subscribers[key]?[socket] = nil
        if state.subscribers[key]?.isEmpty == true {
            state.subscribers[key] = nil
            if state.members[key]?.pins == 0 { state.members[key] = nil }
        }
    }

    /// The socket's subscription to `channel`, if any.
    func subscription(_ connection: RelayConnection, to channel: String) -> LocalSubscription? {
        state.withLock { $0.subscriptions[connection.socketID.description]?[channel] }
    }

    /// Queues `frame` to every local subscriber of the channel except `exceptSocket` and the sockets of `exceptUser`.
    /// Returns how many sockets it was queued for.
    @discardableResult
    func deliver(_ frame: String, to key: ChannelKey, exceptSocket: String? = nil, exceptUser: String? = nil) -> Int {
        state.withLock { Self.deliver(frame, to: key, exceptSocket: exceptSocket, exceptUser: exceptUser, in: $0) }
    }

    private static func deliver(_ frame: String, to key: ChannelKey, exceptSocket: String?, exceptUser: String?, in state: State) -> Int {
        var count = 0
        for (socket, subscriber) in state.subscribers[key] ?? [:] where socket != exceptSocket {
            if let exceptUser, subscriber.userID == exceptUser { continue }
            subscriber.connection.send(frame)
            count += 1
        }
        return count
    }

    /// Applies a member event from Usher to the tracked member list and fans its frame out to the channel.
    ///
    /// Events that change nothing are dropped: `member_added` for a user the list already has (the subscriber got it in
    /// its `subscription_succeeded`, or a resync replays it), `member_removed` for one it does not have.
    func memberEvent(added: Bool, key: ChannelKey, userID: String, userInfo: JSONValue?) {
        let frame = added
            ? PusherFrame.memberAdded(channel: key.channel, userID: userID, userInfo: userInfo)
            : PusherFrame.memberRemoved(channel: key.channel, userID: userID)
        state.withLock { state in
            if var joins = state.pendingJoins[key] {
                for id in joins.keys { joins[id]?.append(MemberChange(added: added, userID: userID, userInfo: userInfo)) }
                state.pendingJoins[key] = joins
            }
            if let list = state.members[key] {
                guard (list.members[userID] == nil) == added else { return }
                state.members[key]?.members[userID] = added ? (userInfo ?? .object([:])) : nil
            }
            // A member's own sockets never hear about themselves (pusher-js would count the member twice).
            _ = Self.deliver(frame, to: key, exceptSocket: nil, exceptUser: userID, in: state)
        }
    }

    /// Local presence channels and the members the node last knew of.
    func trackedMembers() -> [ChannelKey: [String: JSONValue]] {
        state.withLock { $0.members.mapValues(\.members) }
    }

    /// Every connection of `app` signed in as `user` or present in a presence channel as `user`.
    func connections(app: String, user: String) -> [RelayConnection] {
        state.withLock { state in
            var found: [String: RelayConnection] = [:]
            for connection in state.connections.values where connection.app.id == app && connection.signedInUser == user {
                found[connection.socketID.description] = connection
            }
            for (key, subscribers) in state.subscribers where key.app == app {
                for (socket, subscriber) in subscribers where subscriber.userID == user { found[socket] = subscriber.connection }
            }
            return Array(found.values)
        }
    }

    /// Every open connection.
    var allConnections: [RelayConnection] { state.withLock { Array($0.connections.values) } }

    /// Open connections, for metrics.
    var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Subscriptions by channel kind (`public`, `private`, `private_encrypted`, `presence`, `server_to_user`), for
    /// metrics at scrape time. Only the per-channel counts are copied under the lock; names are classified after, so
    /// a scrape does not hold up fan-out for a pass of name validation.
    func subscriptionsByKind() -> [String: Int] {
        let channels = state.withLock { state in state.subscribers.map { ($0.key.channel, $0.value.count) } }
        var counts = ["public": 0, "private": 0, "private_encrypted": 0, "presence": 0, "server_to_user": 0]
        for (channel, subscribers) in channels {
            let kind = switch (try? ChannelName(validating: channel, maxLength: .max))?.kind {
            case .private?: "private"
            case .privateEncrypted?: "private_encrypted"
            case .presence?: "presence"
            case .serverToUser?: "server_to_user"
            default: "public"
            }
            counts[kind, default: 0] += subscribers
        }
        return counts
    }

    /// The node's full subscription list, for `PUT /relay/v1/nodes/{node}/sockets`.
    func snapshot() -> [(app: String, socketID: String, channel: String, channelData: String?)] {
        state.withLock { state in
            state.subscriptions.flatMap { socket, channels in
                let app = state.connections[socket]?.app.id ?? ""
                return channels.map { (app: app, socketID: socket, channel: $0.key, channelData: $0.value.channelData) }
            }
        }
    }
}
