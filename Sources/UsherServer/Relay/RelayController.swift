import Foundation
import Hummingbird
import Logging
import UsherCore
import UsherCrypto

/// The relay API (DESIGN.md, Relay contract): relays report subscriptions, disconnects, heartbeats and full
/// snapshots; Usher verifies auth strings, keeps presence and answers the member list.
struct RelayController: Sendable {
    let registry: AppRegistryBox
    let store: any PresenceStore
    let configuration: UsherConfiguration
    let tokens: ChannelTokens
    let signingKeys: SigningKeysBox

    func register(with group: RouterGroup<some RequestContext>) {
        group.post("/apps/{app}/subscriptions") { request, context in try await subscribe(request, context: context) }
        group.delete("/apps/{app}/subscriptions") { request, context in try await unsubscribe(request, context: context) }
        group.delete("/apps/{app}/sockets/{socket}") { _, context in try await disconnect(context: context) }
        group.get("/apps/{app}/presence/{channel}") { _, context in try await presence(context: context) }
        group.get("/apps/{app}/channels/{channel}") { _, context in try await counts(context: context) }
        group.post("/apps/{app}/online") { request, context in try await online(request, context: context) }
        group.put("/nodes/{node}") { request, context in try await heartbeat(request, context: context) }
        group.put("/nodes/{node}/sockets") { request, context in try await snapshot(request, context: context) }
        group.post("/nodes/{node}/batch") { request, context in try await batch(request, context: context) }
        group.post("/nodes/{node}/reports") { request, context in try await reports(request, context: context) }
    }

    func subscribe(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try registry.current.select(key: nil, id: try context.parameters.require("app"))
        let write = try subscription(app: app, body: try await RelayFields(body: request, limit: configuration.maxBodyBytes))
        let result = try await store.apply([write])[0]
        return .json(try Self.answer(result.join, isPresence: write.isPresenceJoin))
    }

    /// A relay call the event loop answers (`FastPathHandler`): checked there, its writes applied (on the loop when
    /// the store applies them without suspending, otherwise awaited off it), and its answer written from their
    /// results — the same checks, writes and answer as `subscribe` and `batch`.
    enum FastCall {
        /// `POST /relay/v1/apps/{app}/subscriptions`.
        case subscribe(PresenceWrite)
        /// `POST /relay/v1/nodes/{node}/batch`.
        case batch(BatchPlan)

        var writes: [PresenceWrite] {
            switch self {
            case .subscribe(let write): [write]
            case .batch(let plan): plan.writes
            }
        }

        /// Writes the answer for the store's `results` of `writes` to `out`, or throws the error to answer (a refused
        /// single join) with nothing written.
        func answer(_ results: [PresenceWriteResult], logger: Logger, to out: inout OutgoingText) throws {
            switch self {
            case .subscribe(let write):
                out.buffer.reserveCapacity(minimumWritableBytes: RelayController.answerByteCount(results[0].join))
                try RelayController.writeAnswer(results[0].join, isPresence: write.isPresenceJoin, withStatus: false, to: &out)
            case .batch(let plan):
                plan.answer(results, logger: logger, to: &out)
            }
        }
    }

    /// Checks a subscribe call to `appID` carrying `body`.
    func subscribeCall(appID: String, body: [UInt8]) throws -> FastCall {
        let app = try registry.current.select(key: nil, id: appID)
        return .subscribe(try body.withUnsafeBytes { bytes throws in try subscription(app: app, body: try RelayFields(json: bytes)) })
    }

    /// The join a single subscription call asks for (its `node` is in the body).
    private func subscription(app: AppRuntime, body: RelayFields) throws -> PresenceWrite {
        try join(app: app, node: try NodeID(validating: try body.string(.node)), fields: body, wantsPresence: true)
    }

    /// Verifies what the relay presents for a subscription (`socket_id`, `channel`, and `auth` with `channel_data` or
    /// `user_data`, or a channel `token`) and makes the join.
    ///
    /// - Throws: 400 for malformed input, ``RelayRefusal`` (403 with 4009, 409 with 4301) for a refused subscription.
    /// - Parameter check: The app's check at this instant, when the caller made one for many joins (a batch).
    func join(app: AppRuntime, node: NodeID, fields: RelayFields, wantsPresence: Bool, check: SubscriptionCheck? = nil) throws -> PresenceWrite {
        let socketID = try SocketID(validating: try fields.string(.socketID))
        let channel = try ChannelName(validating: try fields.string(.channel), maxLength: configuration.channelNameMaxLength)
        let check = check ?? SubscriptionCheck(app: app, now: Date())
        let member: PresenceMember?
        if let token = try fields.optional(.token) {
            member = try check.verify(socketID: socketID, channel: channel, token: token, tokens: tokens, keys: signingKeys.current)
        } else {
            // The auth string and channel_data are checked as the bytes the body carried: no strings made of them.
            let (auth, channelData, userData) = (try fields.optionalBytes(.auth), try fields.optionalBytes(.channelData), try fields.optional(.userData))
            member = try fields.withBytes { bytes in
                try check.verify(
                    socketID: socketID, channel: channel, auth: auth.map { UnsafeBufferPointer(rebasing: bytes[$0]) },
                    channelData: channelData.map { UnsafeBufferPointer(rebasing: bytes[$0]) }, userData: userData)
            }
        }
        let subscription = try Subscription(app: app.app.id, socketID: socketID, channel: channel, member: member)
        return .join(subscription, node: node, limits: app.limits, wantsPresence: wantsPresence)
    }

    /// The answer to a join: `{}` for other kinds, `{"presence":…,"member_added":…}` for presence channels (without
    /// `presence` when the relay did not ask for the list).
    ///
    /// - Throws: ``RelayRefusal`` (409 with 4100 or 4301) when the store refused the join.
    static func answer(_ result: JoinResult?, isPresence: Bool) throws -> String {
        var out = ""
        try writeAnswer(result, isPresence: isPresence, withStatus: false, to: &out)
        return out
    }

    /// The most bytes ``writeAnswer(_:isPresence:withStatus:to:)`` appends for `result`, for sizing an answer.
    static func answerByteCount(_ result: JoinResult?) -> Int {
        48 + (result?.presence?.jsonByteCount ?? 0)
    }

    /// Appends a join's answer to `out`, its member list copied once; `withStatus` puts `"status":200` first (a
    /// batch's result). Nothing is appended when it throws.
    ///
    /// - Throws: ``RelayRefusal`` (409 with 4100 or 4301) when the store refused the join.
    static func writeAnswer(_ result: JoinResult?, isPresence: Bool, withStatus: Bool, to out: inout some TextOutput) throws {
        let presence: PresenceSnapshot?
        let memberAdded: Bool
        switch result {
        case .joined(let added, let snapshot)?:
            (presence, memberAdded) = (snapshot, added)
        case .alreadySubscribed(let snapshot)?:
            (presence, memberAdded) = (snapshot, false)
        case .refused(.membersFull)?:
            throw RelayRefusal(status: .conflict, code: 4100, message: "presence channel is full")
        case .refused(.userInfoTooLarge)?:
            throw RelayRefusal(status: .conflict, code: 4301, message: "member user_info too large")
        case nil:
            out.append(withStatus ? #"{"status":200}"# : "{}")
            return
        }
        out.append(withStatus ? #"{"status":200"# : "{")
        guard isPresence else {
            out.append("}")
            return
        }
        if withStatus { out.append(",") }
        if let presence {
            out.append(#""presence":"#)
            presence.write(to: &out)
            out.append(",")
        }
        out.append(memberAdded ? #""member_added":true}"# : #""member_added":false}"#)
    }

    func unsubscribe(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try registry.current.select(key: nil, id: try context.parameters.require("app"))
        let body = try await RelayFields(body: request, limit: configuration.maxBodyBytes)
        _ = try await store.apply([try leave(app: app, fields: body)])
        return .json("{}")
    }

    func leave(app: AppRuntime, fields: RelayFields) throws -> PresenceWrite {
        .leave(
            app: app.app.id, socketID: try SocketID(validating: try fields.string(.socketID)),
            channel: try ChannelName(validating: try fields.string(.channel), maxLength: configuration.channelNameMaxLength))
    }

    func disconnect(context: some RequestContext) async throws -> Response {
        let app = try registry.current.select(key: nil, id: try context.parameters.require("app"))
        _ = try await store.apply([.disconnect(app: app.app.id, socketID: try SocketID(validating: try context.parameters.require("socket")))])
        return .json("{}")
    }

    func presence(context: some RequestContext) async throws -> Response {
        let app = try registry.current.select(key: nil, id: try context.parameters.require("app"))
        let channel = try ChannelName(validating: try context.parameters.require("channel"), maxLength: configuration.channelNameMaxLength)
        guard channel.kind == .presence else { throw ServerError.malformedRequest("not a presence channel") }
        let presence = try await store.presence(app: app.app.id, channel: channel.name)
        return .json(#"{"presence":"# + (presence?.jsonText ?? #"{"ids":[],"hash":{},"count":0}"#) + "}")
    }

    /// The cluster-wide counts relays answer channel queries with (their own HTTP API adds what they hold, such as a
    /// cache channel's event): `{"subscription_count":N,"user_count":M}`.
    func counts(context: some RequestContext) async throws -> Response {
        let app = try registry.current.select(key: nil, id: try context.parameters.require("app"))
        let channel = try ChannelName(validating: try context.parameters.require("channel"), maxLength: configuration.channelNameMaxLength)
        let counts = try await store.counts(app: app.app.id, channel: channel.name)
        return .json(#"{"subscription_count":"# + String(counts.subscriptions) + #","user_count":"# + String(counts.users) + "}")
    }

    /// The most user ids one online-status query may ask about.
    static let maxOnlineQuery = 1000

    /// `POST /relay/v1/apps/{app}/online` `{"user_ids":[…]}` → `{"online":[…]}`: which of the users are online (a
    /// signed-in connection on any node, or within the leave grace), for a watchlist's first `online` event.
    func online(_ request: Request, context: some RequestContext) async throws -> Response {
        let app = try registry.current.select(key: nil, id: try context.parameters.require("app"))
        let userIDs = try await RelayFields(body: request, limit: configuration.maxBodyBytes).strings(.userIDs)
        guard userIDs.count <= Self.maxOnlineQuery else {
            throw ServerError.malformedRequest("user_ids holds more than \(Self.maxOnlineQuery) ids")
        }
        for userID in userIDs {
            guard (try? ChannelName(validating: ChannelKind.serverToUserChannel(userID), maxLength: configuration.channelNameMaxLength)) != nil
            else { throw ServerError.malformedRequest("user_ids holds an invalid user id") }
        }
        let online = try await store.onlineUsers(app: app.app.id, among: userIDs)
        return .json(#"{"online":"# + JSONValue.array(online.map(JSONValue.string)).jsonText + "}")
    }

    /// `PUT /relay/v1/nodes/{node}`, with an optional body `{"forward_url":"http://…","connections":{"<app>":N}}`:
    /// where the other nodes deliver events published on this one, and its open client connections per app. The
    /// answer lists the other live nodes that announced a forward URL, and their connections per app.
    func heartbeat(_ request: Request, context: some RequestContext) async throws -> Response {
        let node = try NodeID(validating: try context.parameters.require("node"))
        let body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        var forwardURL: String?
        var connections: [String: Int]?
        if body.readableBytes > 0 {
            let fields = try body.withUnsafeReadableBytes { try RelayFields(json: $0) }
            forwardURL = try fields.optional(.forwardURL)
            if let url = forwardURL { try Self.checkForwardURL(url) }
            // Counts of apps this server does not serve are dropped (a relay with a stale key directory).
            let apps = registry.current
            connections = try fields.counts(.connections, in: 0...100_000_000, maxMembers: 10_000)?
                .filter { (try? apps.select(key: nil, id: $0.key)) != nil }
        }
        return .json(lease(try await store.heartbeat(node: node, forwardURL: forwardURL, connections: connections)))
    }

    /// A forward URL is an http(s) base URL with a host, no query or fragment, at most 2,048 bytes.
    static func checkForwardURL(_ text: String) throws {
        guard text.utf8.count <= 2048, let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            url.host?.isEmpty == false, url.query == nil, url.fragment == nil
        else { throw ServerError.malformedRequest("forward_url must be an http or https base URL") }
    }

    func snapshot(_ request: Request, context: some RequestContext) async throws -> Response {
        let node = try NodeID(validating: try context.parameters.require("node"))
        // Snapshots of busy nodes are large; allow far more than an auth request.
        let body = try await request.decodeJSON(SnapshotRequest.self, limit: 64 << 20)
        let apps = registry.current
        // Entries of apps this server no longer serves (removed by a reload) are skipped, so the rest still resyncs.
        let known = body.subscriptions.compactMap { entry in (try? apps.select(key: nil, id: entry.app)).map { ($0, entry) } }
        if known.count < body.subscriptions.count {
            context.logger.warning(
                "snapshot entries for unknown apps skipped", metadata: ["usher.node": "\(node)", "usher.skipped": "\(body.subscriptions.count - known.count)"]
            )
        }
        let subscriptions = try known.map { (app, entry) throws -> Subscription in
            let channel = try ChannelName(validating: entry.channel, maxLength: configuration.channelNameMaxLength)
            var member: PresenceMember?
            if channel.kind == .presence {
                guard let channelData = entry.channelData else { throw CoreError.invalidChannelData }
                member = try ChannelData.member(channelData, limits: app.limits)
            }
            return try Subscription(app: app.app.id, socketID: try SocketID(validating: entry.socketID), channel: channel, member: member)
        }
        try await store.replaceNode(node, with: subscriptions)
        return .json(lease(try await store.heartbeat(node: node, forwardURL: nil)))
    }

    /// A node lease, with the features relays enforce for each app.
    func lease(_ lease: NodeLease) -> String {
        let apps = JSONValue.object(registry.current.features.mapValues(\.json)).jsonText
        let peers = JSONValue.array(lease.peers.map { .object(["node": .string($0.node.description), "forward_url": .string($0.forwardURL)]) })
        let connections = JSONValue.object(lease.connections.mapValues { .integer(Int64($0)) }).jsonText
        return #"{"epoch":"# + JSON.quoted(lease.epoch) + #","lease_ms":"# + String(lease.leaseMillis) + #","resync":"#
            + (lease.resync ? "true" : "false") + #","apps":"# + apps + #","peers":"# + peers.jsonText + #","connections":"#
            + connections + "}"
    }
}

extension PresenceWrite {
    /// Whether this joins a presence channel (its answer carries `member_added`).
    var isPresenceJoin: Bool {
        if case .join(let subscription, _, _, _) = self { return subscription.channel.kind == .presence }
        return false
    }
}

/// A refusal the relay forwards to its client as `pusher:subscription_error` (PUSHER-PROTOCOL.md §9).
struct RelayRefusal: Error {
    let status: HTTPResponse.Status
    let code: Int
    let message: String
}
