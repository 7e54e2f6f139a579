import Synchronization
import UsherCrypto

/// The watchlists of this node's signed-in connections (PUSHER-PROTOCOL.md §9a): who watches which users, and what
/// each watcher was last told, so online/offline changes from Usher's event stream reach exactly the connections
/// that watch the user, and a resync after lost events sends only the differences.
///
/// A watch starts pending: changes arriving while its first `online` list is fetched are held, and sent after that
/// list in order, each only if it changes what the watcher was told.
final class Watchlists: Sendable {
    private struct WatchKey: Hashable {
        let app: String
        let user: String
    }

    private struct Watch {
        let connection: RelayConnection
        let users: [String]
        /// What the watcher was told is online; nil until its first list went out.
        var online: Set<String>?
        /// Changes seen before the first list, in order.
        var held: [(user: String, online: Bool)] = []
    }

    private struct State {
        var watches: [String: Watch] = [:]
        var watchers: [WatchKey: Set<String>] = [:]
    }

    private let state = Mutex(State())

    /// Starts (or replaces) `connection`'s watch of `users`; finish with ``start(_:online:)``.
    func begin(_ connection: RelayConnection, users: [String]) {
        let socket = connection.socketID.description
        state.withLock { state in
            Self.remove(socket, in: &state)
            state.watches[socket] = Watch(connection: connection, users: users)
            for user in users { state.watchers[WatchKey(app: connection.app.id, user: user), default: []].insert(socket) }
        }
    }

    /// Sends the watcher its first `online` list, then what changed while it was fetched.
    func start(_ connection: RelayConnection, online: [String]) {
        let socket = connection.socketID.description
        state.withLock { state in
            guard var watch = state.watches[socket], watch.online == nil else { return }
            let watched = Set(watch.users)
            let first = online.filter(watched.contains)
            var told = Set(first)
            connection.send(PusherFrame.watchlistEvents([(name: "online", userIDs: first)]))
            for change in watch.held { Self.tell(connection, change.user, online: change.online, told: &told) }
            watch.online = told
            watch.held = []
            state.watches[socket] = watch
        }
    }

    /// Forgets a connection's watch (closed, or signed in again).
    func end(_ connection: RelayConnection) {
        state.withLock { Self.remove(connection.socketID.description, in: &$0) }
    }

    /// A user came online or went offline somewhere in the deployment.
    func userChanged(app: String, user: String, online: Bool) {
        state.withLock { state in
            guard let sockets = state.watchers[WatchKey(app: app, user: user)] else { return }
            for socket in sockets {
                guard var watch = state.watches[socket] else { continue }
                if var told = watch.online {
                    Self.tell(watch.connection, user, online: online, told: &told)
                    watch.online = told
                } else {
                    watch.held.append((user, online))
                }
                state.watches[socket] = watch
            }
        }
    }

    /// Every user watched on this node, by app (for a resync after lost events).
    func watchedUsers() -> [String: Set<String>] {
        state.withLock { state in
            var users: [String: Set<String>] = [:]
            for key in state.watchers.keys { users[key.app, default: []].insert(key.user) }
            return users
        }
    }

    /// Brings every started watch of `app` in line with `online` (the users of `app` online now, among those
    /// watched), sending each watcher only the differences from what it was told.
    func resync(app: String, online: Set<String>) {
        state.withLock { state in
            for (socket, var watch) in state.watches where watch.connection.app.id == app {
                guard var told = watch.online else { continue }
                for user in watch.users { Self.tell(watch.connection, user, online: online.contains(user), told: &told) }
                watch.online = told
                state.watches[socket] = watch
            }
        }
    }

    private static func tell(_ connection: RelayConnection, _ user: String, online: Bool, told: inout Set<String>) {
        guard online ? told.insert(user).inserted : told.remove(user) != nil else { return }
        connection.send(PusherFrame.watchlistEvents([(name: online ? "online" : "offline", userIDs: [user])]))
    }

    private static func remove(_ socket: String, in state: inout State) {
        guard let watch = state.watches.removeValue(forKey: socket) else { return }
        for user in watch.users {
            let key = WatchKey(app: watch.connection.app.id, user: user)
            state.watchers[key]?.remove(socket)
            if state.watchers[key]?.isEmpty == true { state.watchers[key] = nil }
        }
    }
}
