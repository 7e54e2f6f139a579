import Synchronization
import UsherCore
import UsherCrypto

/// A channel of one app.
struct ChannelKey: Hashable, Sendable {
    let app: String
    let channel: String
}

/// A presence subscribe waiting for Usher's answer; member events for its channel are recorded meanwhile.
struct PendingJoin: Sendable {
    fileprivate let key: ChannelKey
    fileprivate let id: Int
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
        var subscribers: [ChannelKey: [String: Subscriber]] = [:]
        var subscriptions: [String: [String: LocalSubscription]] = [:]
        /// Members of each locally subscribed presence channel, as last told by Usher (for `reset` resyncs).
        var members: [ChannelKey: [String: JSONValue]] = [:]
        /// Member events seen while presence subscribes wait for Usher (see `beginJoin`), by join.
        var pendingJoins: [ChannelKey: [Int: [MemberChange]]] = [:]
        var nextJoinID = 0
    }

    private struct MemberChange {
        let added: Bool
        let userID: String
        let userInfo: JSONValue?
    }

    private let state = Mutex(State())

    /// Registers a new connection under a fresh, unused Pusher-format socket id.
    func connect(app: App, outboxLimit: Int) -> RelayConnection {
        state.withLock { state in
            while true {
                let text = "\(UInt32.random(in: 1...UInt32.max)).\(UInt32.random(in: 1...UInt32.max))"
                guard state.connections[text] == nil, let socketID = try? SocketID(validating: text) else { continue }
                let connection = RelayConnection(socketID: socketID, app: app, outboxLimit: outboxLimit)
                state.connections[text] = connection
                return connection
            }
        }
    }

    /// Forgets a closed connection and all its subscriptions.
    func disconnect(_ connection: RelayConnection) {
        let socket = connection.socketID.description
        state.withLock { state in
            state.connections[socket] = nil
            let channels = state.subscriptions.removeValue(forKey: socket) ?? [:]
            for channel in channels.keys {
                Self.removeSubscriber(socket, from: ChannelKey(app: connection.app.id, channel: channel), in: &state)
            }
        }
    }

    /// Starts recording member events for a presence channel before its subscribe goes to Usher.
    ///
    /// Usher's answer lists the members as of its own handling of the subscribe; a member event after that can reach
    /// this node before the socket is registered, and would pass it by. `subscribe(…, join:)` applies the recorded
    /// events to Usher's list: each sets one user present or absent, so replaying some that the list already
    /// reflects changes nothing, and the ones it does not reflect bring it up to date. End with `subscribe` or
    /// `cancelJoin`.
    func beginJoin(app: String, channel: String) -> PendingJoin {
        let key = ChannelKey(app: app, channel: channel)
        return state.withLock { state in
            state.nextJoinID += 1
            state.pendingJoins[key, default: [:]][state.nextJoinID] = []
            return PendingJoin(key: key, id: state.nextJoinID)
        }
    }

    /// Stops recording for a join that will not subscribe (refused, failed, or the socket closed).
    func cancelJoin(_ join: PendingJoin) {
        state.withLock { _ = Self.takeChanges(of: join, in: &$0) }
    }

    private static func takeChanges(of join: PendingJoin, in state: inout State) -> [MemberChange] {
        let changes = state.pendingJoins[join.key]?.removeValue(forKey: join.id) ?? []
        if state.pendingJoins[join.key]?.isEmpty == true { state.pendingJoins[join.key] = nil }
        return changes
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
            let changes = join.map { Self.takeChanges(of: $0, in: &state) } ?? []
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
            if let members, state.members[key] == nil { state.members[key] = members }
            connection.send(frame)
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
            state.members[key] = nil
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
            guard state.subscribers[key] != nil else { return }
            if let members = state.members[key] {
                guard (members[userID] == nil) == added else { return }
                state.members[key]?[userID] = added ? (userInfo ?? .object([:])) : nil
            }
            // A member's own sockets never hear about themselves (pusher-js would count the member twice).
            _ = Self.deliver(frame, to: key, exceptSocket: nil, exceptUser: userID, in: state)
        }
    }

    /// Local presence channels and the members the node last knew of.
    func trackedMembers() -> [ChannelKey: [String: JSONValue]] {
        state.withLock { $0.members }
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
