import Logging
import UsherCore
import UsherCrypto

/// The Pusher protocol for one connected socket: everything a client may send, answered in order.
///
/// Authorization and presence are Usher's: subscriptions and sign-ins are forwarded to the relay API and its answer
/// is relayed. Bad input gets an error frame; only a sign-in Usher refuses (403) closes the socket (4009).
///
/// Every change of the socket's subscriptions runs in the resync gate; when a call to Usher fails, or its outcome is
/// unknown (a timeout), the node asks for a full snapshot at its next heartbeat so Usher and the hub agree again.
struct RelaySession: Sendable {
    let services: RelayServices
    let connection: RelayConnection

    var hub: ConnectionHub { services.hub }
    var app: App { connection.app }
    var socket: String { connection.socketID.description }

    /// Handles one text message.
    func handle(_ text: String) async {
        connection.touch()
        guard let message = ClientMessage(text: text) else {
            return connection.send(PusherFrame.error(code: nil, message: "Invalid message: expected a JSON object with an event"))
        }
        services.metrics.messageIn(kind: Self.metricKind(message.event))
        switch message.event {
        case "pusher:ping": connection.send(PusherFrame.pong)
        case "pusher:pong": break
        case "pusher:subscribe": await subscribe(message)
        case "pusher:unsubscribe": await unsubscribe(message)
        case "pusher:signin": await signin(message)
        case let name where name.hasPrefix("client-"): await clientEvent(message)
        default: connection.send(PusherFrame.error(code: nil, message: "Unsupported event"))
        }
    }

    private func subscribe(_ message: ClientMessage) async {
        guard let name = message.field("channel") else {
            return connection.send(PusherFrame.error(code: nil, message: "pusher:subscribe needs data.channel"))
        }
        let channel: ChannelName
        do {
            channel = try ChannelName(validating: name, maxLength: services.configuration.channelNameMaxLength)
        } catch {
            return refuse(name, type: "AuthError", error: "Invalid channel name", status: 400)
        }
        if case .serverToUser = channel.kind {
            // pusher-js subscribes to its user's channel itself after pusher:signin_success (PUSHER-PROTOCOL.md §9a).
            // The sign-in already joined it: confirm that to the socket signed in as that user, refuse everyone else.
            guard let user = connection.signedInUser, name == "#server-to-user-" + user else {
                return refuse(name, type: "AuthError", error: "Server-to-user channels are joined by pusher:signin as that user", status: 403)
            }
            return connection.send(PusherFrame.subscriptionSucceeded(channel: name, presenceJSON: nil))
        }
        let limit = services.configuration.maxSubscriptionsPerConnection
        if hub.subscription(connection, to: name) == nil, hub.subscriptionCount(connection) >= limit {
            return refuse(name, type: "LimitReached", error: "Too many subscriptions", status: 4100)
        }
        let channelData = message.field("channel_data")
        let auth = message.field("auth")
        connection.markKnownToUsher()
        await services.gate.change { await join(channel, auth: auth, channelData: channelData) }
    }

    /// Asks Usher, then records the subscription and answers the client (inside the resync gate).
    private func join(_ channel: ChannelName, auth: String?, channelData: String?) async {
        let name = channel.name
        // Closed while waiting for a resync: nothing to ask Usher for (the disconnect follows).
        guard !connection.isClosed else { return }
        let outcome: UsherAPI.SubscribeOutcome
        // Decided before Usher sees the subscribe, so member events are covered from then on (see `beginJoin`); a
        // node resync pending means Usher and the node may disagree, so the node's list is not trusted then.
        let pending = channel.kind == .presence
            ? hub.beginJoin(app: app.id, channel: name, mayUseLocalList: !services.resyncRequested.isRequested) : nil
        do {
            outcome = try await services.batcher.join(
                app: app.id, socketID: socket, channel: name, auth: auth, channelData: channelData, listMembers: pending?.usesLocalList != true)
        } catch {
            pending.map(hub.cancelJoin)
            // Usher may have recorded it (a timeout after the request went out): the snapshot settles it.
            services.requestResync()
            services.warnUsherFailure("usher subscribe failed; the next heartbeat resyncs the node", metadata: ["usher.error": "\(error)"])
            return refuse(name, type: "ServerError", error: "Authorization service unavailable", status: 503)
        }
        switch outcome {
        case .subscribed(let presence):
            let isPresence = channel.kind == .presence
            let subscription = LocalSubscription(
                channelData: isPresence ? channelData : nil, userID: isPresence ? channelData.flatMap(Self.userID(of:)) : nil)
            if let pending, pending.usesLocalList {
                hub.subscribe(connection, to: name, subscription, ownInfo: channelData.map(Self.userInfo(of:)) ?? .object([:]), join: pending)
                return
            }
            var members: [String: JSONValue]?
            if case .object(let hash)? = presence?["hash"] { members = hash }
            hub.subscribe(
                connection, to: name, subscription, frame: PusherFrame.subscriptionSucceeded(channel: name, presenceJSON: presence?.jsonText),
                members: members, join: pending)
        case .refused(let status, let code, let error):
            pending.map(hub.cancelJoin)
            switch status {
            case 403: refuse(name, type: "AuthError", error: error, status: status)
            case 409: refuse(name, type: "LimitReached", error: error, status: code ?? status)
            default:
                // Not the client's fault (a relay token mismatch, Usher failing): say so, and log it for the operator.
                // A 5xx may have been applied all the same (a store timeout as the transaction committed): the
                // snapshot settles it.
                if status >= 500 { services.requestResync() }
                services.warnUsherFailure(
                    "usher refused a subscribe unexpectedly", metadata: ["usher.status": "\(status)", "usher.error": "\(error)"])
                refuse(name, type: "ServerError", error: "Authorization service error", status: status)
            }
        }
    }

    private func refuse(_ channel: String, type: String, error: String, status: Int) {
        connection.send(PusherFrame.subscriptionError(channel: channel, type: type, error: error, status: status))
    }

    /// A client message's kind as `usher_relay_messages_in_total` labels it (a bounded set).
    static func metricKind(_ event: String) -> String {
        switch event {
        case "pusher:ping": "ping"
        case "pusher:pong": "pong"
        case "pusher:subscribe": "subscribe"
        case "pusher:unsubscribe": "unsubscribe"
        case "pusher:signin": "signin"
        case let name where name.hasPrefix("client-"): "client_event"
        default: "other"
        }
    }

    /// The `user_id` of verified channel_data, as Usher keys members: a string, or a JSON integer's text.
    static func userID(of channelData: String) -> String? {
        switch try? JSONValue.parse(channelData)["user_id"] {
        case .string(let id)?: id
        case .integer(let number)?: String(number)
        default: nil
        }
    }

    /// The `user_info` of verified channel_data as Usher lists it: `{}` when absent or null.
    static func userInfo(of channelData: String) -> JSONValue {
        switch try? JSONValue.parse(channelData)["user_info"] {
        case nil, .null?: .object([:])
        case let info?: info
        }
    }

    private func unsubscribe(_ message: ClientMessage) async {
        guard let name = message.field("channel") else { return }
        await services.gate.change {
            guard hub.unsubscribe(connection, from: name) else { return }
            do {
                try await services.batcher.leave(app: app.id, socketID: socket, channel: name)
            } catch {
                services.requestResync()
                services.warnUsherFailure("usher unsubscribe failed; the next heartbeat resyncs the node", metadata: ["usher.error": "\(error)"])
            }
        }
    }

    /// `pusher:signin`: Usher verifies the user auth by subscribing the socket to `#server-to-user-<id>` with the
    /// signed `user_data` (the relay API checks the `<socket_id>::user::<user_data>` signature and the id).
    private func signin(_ message: ClientMessage) async {
        guard let auth = message.field("auth"), let userData = message.field("user_data"),
            let id = (try? JSONValue.parse(userData))?["id"]?.stringValue, !id.isEmpty,
            let channel = try? ChannelName(validating: "#server-to-user-" + id, maxLength: 256)
        else {
            return refuseSignin("Invalid pusher:signin: needs auth and user_data with a string id")
        }
        connection.markKnownToUsher()
        let signedIn = await services.gate.change { () -> Bool in
            guard !connection.isClosed else { return false }
            let outcome: UsherAPI.SubscribeOutcome
            do {
                outcome = try await services.batcher.join(
                    app: app.id, socketID: socket, channel: channel.name, auth: auth, channelData: nil, userData: userData)
            } catch {
                services.requestResync()
                services.warnUsherFailure("usher signin failed; the next heartbeat resyncs the node", metadata: ["usher.error": "\(error)"])
                connection.send(PusherFrame.error(code: nil, message: "Authorization service unavailable"))
                return false
            }
            switch outcome {
            case .subscribed: break
            case .refused(status: 403, _, _):
                refuseSignin("Invalid signature for pusher:signin")
                return false
            case .refused(let status, _, let error):
                // Not the client's fault (a relay token mismatch, Usher failing): the socket stays open.
                if status >= 500 { services.requestResync() }
                services.warnUsherFailure("usher refused a signin unexpectedly", metadata: ["usher.status": "\(status)", "usher.error": "\(error)"])
                connection.send(PusherFrame.error(code: nil, message: "Sign-in failed: authorization service error"))
                return false
            }
            connection.signedInUser = id
            hub.subscribe(
                connection, to: channel.name, LocalSubscription(channelData: nil, userID: nil), frame: PusherFrame.signinSuccess(userData: userData),
                members: nil)
            return true
        }
        guard signedIn else { return }
        await watch(userData: userData)
    }

    /// Starts the watchlist a signed-in connection's `user_data` carries (apps with a watchlist): more ids than the
    /// app allows get `pusher:error` 4302; otherwise the connection gets the watched users online now as one
    /// `online` event, then each change. A new sign-in replaces the previous watch.
    private func watch(userData: String) async {
        services.watchlists.end(connection)
        guard case .array(let items)? = (try? JSONValue.parse(userData))?["watchlist"] else { return }
        let maxIDs = services.features[app.id].watchlistMaxIDs
        guard maxIDs > 0 else { return }
        let users = items.compactMap(\.stringValue).reduce(into: [String]()) { users, id in
            if !users.contains(id) { users.append(id) }
        }
        guard users.count <= maxIDs else {
            return connection.send(PusherFrame.error(code: 4302, message: "Watchlist limit exceeded: at most \(maxIDs) user ids"))
        }
        services.watchlists.begin(connection, users: users)
        do {
            services.watchlists.start(connection, online: try await services.usher.online(app: app.id, userIDs: users))
        } catch {
            services.watchlists.end(connection)
            services.warnUsherFailure("usher online query failed; watchlist not started", metadata: ["usher.error": "\(error)"])
            connection.send(PusherFrame.error(code: nil, message: "Watchlist unavailable: authorization service error"))
        }
    }

    private func refuseSignin(_ message: String) {
        connection.send(PusherFrame.error(code: 4009, message: message))
        connection.close(code: 4009, reason: "Connection is unauthorized")
    }

    /// `client-*` events: only on private and presence channels the socket is subscribed to, at most the app's
    /// `client_events_per_second` per connection (from Usher's lease), relayed to every other subscriber (on this
    /// node and the peers), with `user_id` on presence channels.
    private func clientEvent(_ message: ClientMessage) async {
        guard let name = message.channel, let subscription = hub.subscription(connection, to: name) else {
            services.metrics.clientEventsRefused.increment()
            return connection.send(PusherFrame.error(code: 4301, message: "Client event rejected: not subscribed to the channel"))
        }
        let kind = (try? ChannelName(validating: name, maxLength: services.configuration.channelNameMaxLength))?.kind
        guard kind == .private || kind == .presence else {
            services.metrics.clientEventsRefused.increment()
            return connection.send(PusherFrame.error(code: 4301, message: "Client events are only allowed on private and presence channels"))
        }
        let data = message.data?.jsonText ?? "null"
        guard message.event.utf8.count <= 200, data.utf8.count <= services.configuration.maxMessageBytes else {
            services.metrics.clientEventsRefused.increment()
            return connection.send(PusherFrame.error(code: 4301, message: "Client event rejected: event name or data too large"))
        }
        let perSecond = services.features[app.id].clientEventsPerSecond
        guard connection.takeClientEvent(perSecond: perSecond) else {
            services.metrics.clientEventsRefused.increment()
            return connection.send(PusherFrame.error(code: 4301, message: "Client event rejected: more than \(perSecond) per second"))
        }
        let frame = PusherFrame.event(message.event, channel: name, dataJSON: data, userID: kind == .presence ? subscription.userID : nil)
        services.publish(app: app.id, channels: [name], frame: frame, exceptSocket: socket)
        // Webhooks carry the data as a string: the client's string, or the JSON text of what it sent.
        services.reporter.clientEvent(
            app: app.id, channel: name, event: message.event, data: message.data?.stringValue ?? data, socketID: socket,
            userID: kind == .presence ? subscription.userID : nil)
    }
}
