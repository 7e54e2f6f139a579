import Logging
import ServiceLifecycle
import UsherCrypto

/// Tails Usher's event log (`GET /relay/v1/events`) and applies it to this node: presence member events are fanned
/// out to local subscribers (so members joining on other nodes are seen), `subscription_count` goes to the channel's
/// local subscribers as `pusher_internal:subscription_count`, `terminate_connections` closes the user's
/// sockets, and `reset` (events were lost) resyncs the node and diffs each local presence channel against Usher.
struct EventFollower: Service, CustomStringConvertible {
    let services: RelayServices
    let node: NodeSync

    /// Service names reach ServiceLifecycle's logs: never print the services (they hold the relay token).
    var description: String { "EventFollower" }

    func run() async throws {
        var lastID: UInt64?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let response = try await services.usher.events(after: lastID)
                // Without a position to resume from, the stream starts at the newest event: earlier ones are missed.
                services.hub.eventStreamOpened(resumed: lastID != nil)
                services.metrics.eventStreamReconnects.increment()
                defer { services.hub.eventStreamClosed() }
                var parser = SSEParser()
                for try await chunk in response.body.cancelOnGracefulShutdown() {
                    for message in parser.feed(chunk.readableBytesView) { await apply(message) }
                    lastID = parser.lastID ?? lastID
                }
            } catch {
                services.logger.warning("usher event stream interrupted", metadata: ["usher.error": "\(error)"])
            }
            try? await gracefulSleep(.milliseconds(500))
        }
    }

    /// Applies one event.
    func apply(_ message: SSEMessage) async {
        services.metrics.eventStreamEvent()
        let data = try? JSONValue.parse(message.data)
        let app = data?["app"]?.stringValue ?? ""
        guard message.event == "reset" || services.apps.byID(app) != nil else { return }
        switch message.event {
        case "member_added", "member_removed":
            guard let channel = data?["channel"]?.stringValue, let user = data?["user_id"]?.stringValue else { return }
            services.hub.memberEvent(
                added: message.event == "member_added", key: ChannelKey(app: app, channel: channel), userID: user, userInfo: data?["user_info"])
        case "user_online", "user_offline":
            guard let user = data?["user_id"]?.stringValue else { return }
            services.watchlists.userChanged(app: app, user: user, online: message.event == "user_online")
        case "subscription_count":
            guard let channel = data?["channel"]?.stringValue, case .integer(let count)? = data?["subscription_count"] else { return }
            _ = services.hub.deliver(PusherFrame.subscriptionCount(channel: channel, count: Int(count)), to: ChannelKey(app: app, channel: channel))
        case "terminate_connections":
            guard let user = data?["user_id"]?.stringValue else { return }
            for connection in services.hub.connections(app: app, user: user) {
                connection.send(PusherFrame.error(code: 4009, message: "Connection terminated by the app"))
                connection.close(code: 4009, reason: "Connection terminated by the app")
            }
        case "reset":
            services.metrics.eventStreamResets.increment()
            services.logger.notice("usher event stream reset; resyncing presence")
            services.hub.distrustMemberLists()
            await node.sync()
            // Other nodes put their sockets back at their own next heartbeat: diffing at once would tell local
            // clients that every remote member left, then came back. The stream goes on meanwhile.
            Task { [services] in
                guard (try? await gracefulSleep(services.configuration.heartbeatInterval * 2)) != nil else { return }
                await resyncMembers()
                await resyncWatchlists()
            }
        default:
            break
        }
    }

    /// Asks Usher who of the watched users is online and sends each watcher the differences from what it was told.
    func resyncWatchlists() async {
        for (app, users) in services.watchlists.watchedUsers() {
            let list = Array(users)
            var online = Set<String>()
            do {
                for start in stride(from: 0, to: list.count, by: 1000) {
                    online.formUnion(try await services.usher.online(app: app, userIDs: Array(list[start..<min(start + 1000, list.count)])))
                }
            } catch {
                // Telling watchers from a partial answer would report online users offline: leave them as they are.
                services.logger.warning("usher online query failed; watchlists not resynced", metadata: ["usher.error": "\(error)"])
                continue
            }
            services.watchlists.resync(app: app, online: online)
        }
    }

    /// Compares each local presence channel's members with Usher's and sends the differences as member events.
    func resyncMembers() async {
        for (key, known) in services.hub.trackedMembers() {
            guard let presence = try? await services.usher.presence(app: key.app, channel: key.channel),
                case .object(let current)? = presence["hash"]
            else { continue }
            for user in known.keys where current[user] == nil {
                services.hub.memberEvent(added: false, key: key, userID: user, userInfo: nil)
            }
            for (user, info) in current where known[user] == nil {
                services.hub.memberEvent(added: true, key: key, userID: user, userInfo: info)
            }
        }
    }
}
