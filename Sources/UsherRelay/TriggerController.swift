import Foundation
import Hummingbird
import NIOCore
import UsherCore
import UsherCrypto

/// The Pusher trigger API (`POST /apps/{id}/events` and `/batch_events`) and channel query
/// (`GET /apps/{id}/channels/{channel}`), signed like the HTTP API (PUSHER-PROTOCOL.md §7), so app servers use the
/// official SDKs; and the internal route peers forward on.
struct TriggerController: Sendable {
    let services: RelayServices
    let signature = APIRequestSignature()

    func register(with router: Router<some RequestContext>) {
        router.post("/apps/{app}/events") { request, context in
            try await respond { try await trigger(request, appID: try context.parameters.require("app")) }
        }
        router.post("/apps/{app}/batch_events") { request, context in
            try await respond { try await batch(request, appID: try context.parameters.require("app")) }
        }
        router.get("/apps/{app}/channels/{channel}") { request, context in
            try await respond {
                try await channel(request, appID: try context.parameters.require("app"), channel: try context.parameters.require("channel"))
            }
        }
        router.post(RouterPath(stringLiteral: PeerForwarder.path)) { request, _ in try await respond { try await forwarded(request) } }
        router.get("/healthz") { _, _ in
            Self.json(.ok, #"{"status":"ok","node":"# + JSON.quoted(services.configuration.node.description) + #","connections":"#
                + String(services.hub.connectionCount) + "}")
        }
        // Prometheus text, like Usher's; unauthenticated like Usher's (bind the relay where scrapers, not the internet,
        // reach this route, or filter it at the proxy).
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: services.metrics.exposition(hub: services.hub))))
        }
    }

    /// One event to many channels: `{"name","data","channels"|"channel","socket_id"?}`.
    func trigger(_ request: Request, appID: String) async throws -> Response {
        let (app, body) = try await verify(request, appID: appID)
        let event = try parse(body)
        let channels: [String]
        if case .array(let list)? = event["channels"] {
            channels = list.compactMap(\.stringValue)
            guard channels.count == list.count else { throw TriggerRefusal(.badRequest, "channels must be strings") }
        } else if let channel = event["channel"]?.stringValue {
            channels = [channel]
        } else {
            throw TriggerRefusal(.badRequest, "missing channels")
        }
        guard !channels.isEmpty, channels.count <= services.configuration.maxChannelsPerTrigger else {
            throw TriggerRefusal(.badRequest, "between 1 and \(services.configuration.maxChannelsPerTrigger) channels per event")
        }
        try publish(event, app: app, channels: channels)
        return Self.json(.ok, "{}")
    }

    /// Up to ``RelayConfiguration/maxBatchSize`` events: `{"batch":[{"name","channel","data","socket_id"?}]}`.
    func batch(_ request: Request, appID: String) async throws -> Response {
        let (app, body) = try await verify(request, appID: appID)
        guard case .array(let events)? = try parse(body)["batch"] else { throw TriggerRefusal(.badRequest, "missing batch") }
        guard events.count <= services.configuration.maxBatchSize else {
            throw TriggerRefusal(.badRequest, "at most \(services.configuration.maxBatchSize) events per batch")
        }
        // Validate all before publishing any, so a bad entry never leaves a half-sent batch.
        for event in events { _ = try frame(for: event, channel: try channel(of: event)) }
        for event in events { try publish(event, app: app, channels: [try channel(of: event)]) }
        return Self.json(.ok, "{}")
    }

    private func channel(of event: JSONValue) throws -> String {
        guard let channel = event["channel"]?.stringValue else { throw TriggerRefusal(.badRequest, "missing channel") }
        return channel
    }

    private func publish(_ event: JSONValue, app: App, channels: [String]) throws {
        var frames: [(String, String)] = []
        for channel in channels { frames.append((channel, try frame(for: event, channel: channel))) }
        let exceptSocket = event["socket_id"]?.stringValue
        if let exceptSocket, (try? SocketID(validating: exceptSocket)) == nil { throw TriggerRefusal(.badRequest, "invalid socket_id") }
        // Validated by `frame(for:channel:)` above.
        let triggered = TriggeredEvent(name: event["name"]?.stringValue ?? "", data: event["data"]?.stringValue ?? "")
        for (channel, frame) in frames {
            services.publish(app: app.id, channels: [channel], frame: frame, exceptSocket: exceptSocket, triggered: triggered)
        }
    }

    /// The frame clients receive; `data` is relayed as the string the SDK sent.
    private func frame(for event: JSONValue, channel: String) throws -> String {
        guard let name = event["name"]?.stringValue, !name.isEmpty, name.utf8.count <= 200 else {
            throw TriggerRefusal(.badRequest, "name must be a string of 1 to 200 characters")
        }
        guard let data = event["data"]?.stringValue else { throw TriggerRefusal(.badRequest, "data must be a string") }
        guard data.utf8.count <= services.configuration.maxMessageBytes else {
            throw TriggerRefusal(.contentTooLarge, "data is larger than \(services.configuration.maxMessageBytes) bytes")
        }
        guard (try? ChannelName(validating: channel, maxLength: services.configuration.channelNameMaxLength)) != nil else {
            throw TriggerRefusal(.badRequest, "invalid channel name")
        }
        return PusherFrame.event(name, channel: channel, dataJSON: JSON.quoted(data))
    }

    private func parse(_ body: [UInt8]) throws -> JSONValue {
        guard let value = try? JSONValue.parse(bytes: body), case .object = value else {
            throw TriggerRefusal(.badRequest, "body must be a JSON object")
        }
        return value
    }

    /// Checks the signature against the app named in the URL; the body is returned exactly as signed.
    private func verify(_ request: Request, appID: String) async throws -> (App, [UInt8]) {
        let body = Array(buffer: try await request.body.collect(upTo: bodyLimit))
        guard let app = services.apps.byID(appID) else { throw TriggerRefusal(.notFound, "unknown app") }
        let target = request.head.path ?? "/"
        let (path, query) = try Self.split(target)
        do {
            try signature.verify(.init(method: request.method.rawValue, path: path, query: query, body: body), app: app, now: Date())
        } catch {
            throw TriggerRefusal(error.isMalformed ? .badRequest : .unauthorized, error.description)
        }
        return (app, body)
    }

    private var bodyLimit: Int { services.configuration.maxMessageBytes * (services.configuration.maxBatchSize + 2) + 64 * 1024 }

    /// The path as sent and the query pairs decoded as the SDKs encode them (`+` a space; duplicates kept: the
    /// verifier refuses them), as Usher's HTTP API reads them.
    static func split(_ target: String) throws -> (String, [(name: String, value: String)]) {
        guard let (path, query) = FormEncoding.splitTarget(target) else {
            throw TriggerRefusal(.badRequest, "invalid percent-encoding or UTF-8 in the query")
        }
        return (path, query)
    }

    /// `GET /apps/{id}/channels/{channel}[?info=…]`, signed like the trigger API: `occupied` and the requested
    /// `subscription_count`/`user_count` from Usher (cluster-wide), and with `info=cache` a cache channel's cached
    /// event on this node, `"cache":{"event":…,"data":…,"ttl":seconds}` (absent when nothing is cached).
    func channel(_ request: Request, appID: String, channel name: String) async throws -> Response {
        let (app, _) = try await verify(request, appID: appID)
        guard let channel = try? ChannelName(validating: name, maxLength: services.configuration.channelNameMaxLength) else {
            throw TriggerRefusal(.badRequest, "invalid channel name")
        }
        // Signing lower-cases parameter names, so `INFO=` is signed as `info=`.
        let info = Set((try Self.split(request.head.path ?? "/").1.first { $0.name.lowercased() == "info" }?.value ?? "")
            .split(separator: ",").map(String.init))
        guard info.isSubset(of: ["cache", "subscription_count", "user_count"]) else {
            throw TriggerRefusal(.badRequest, "info may list cache, subscription_count and user_count")
        }
        if info.contains("user_count"), channel.kind != .presence { throw TriggerRefusal(.badRequest, "user_count is only available for presence channels") }
        if info.contains("cache"), !ChannelKind.isCache(channel.name) { throw TriggerRefusal(.badRequest, "cache is only available for cache channels") }
        let counts: (subscriptions: Int, users: Int)
        do {
            counts = try await services.usher.counts(app: app.id, channel: channel.name)
        } catch {
            services.logger.warning("usher channel counts failed", metadata: ["usher.error": "\(error)"])
            throw TriggerRefusal(.serviceUnavailable, "channel information unavailable")
        }
        var body = #"{"occupied":"# + (counts.subscriptions > 0 || counts.users > 0 ? "true" : "false")
        if info.contains("subscription_count") { body += #","subscription_count":"# + String(counts.subscriptions) }
        if info.contains("user_count") { body += #","user_count":"# + String(counts.users) }
        if info.contains("cache"), let (cached, ttl) = services.hub.cachedEvent(ChannelKey(app: app.id, channel: channel.name)) {
            body += #","cache":{"event":"# + JSON.quoted(cached.name) + #","data":"# + JSON.quoted(cached.data) + #","ttl":"#
                + String(max(1, ttl.components.seconds)) + "}"
        }
        return Self.json(.ok, body + "}")
    }

    /// A frame another relay node forwarded (authenticated with the shared relay token): delivered locally only.
    func forwarded(_ request: Request) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "),
            ConstantTime.equals(Array(header.dropFirst(7).utf8), Array(services.configuration.relayToken.utf8))
        else { throw TriggerRefusal(.unauthorized, "relay token required") }
        let body = try parse(Array(buffer: try await request.body.collect(upTo: bodyLimit)))
        guard let appID = body["app"]?.stringValue, let frame = body["frame"]?.stringValue, case .array(let channels)? = body["channels"] else {
            throw TriggerRefusal(.badRequest, "expected app, channels and frame")
        }
        let triggered = TriggeredEvent(json: body["triggered"])
        for channel in channels.compactMap(\.stringValue) {
            services.deliver(frame, to: ChannelKey(app: appID, channel: channel), exceptSocket: body["socket_id"]?.stringValue, triggered: triggered)
        }
        return Self.json(.ok, "{}")
    }

    private func respond(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let refusal as TriggerRefusal {
            return Self.json(refusal.status, #"{"error":"# + JSON.quoted(refusal.message) + "}")
        } catch is NIOTooManyBytesError {
            return Self.json(.contentTooLarge, #"{"error":"request body too large"}"#)
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Answers what the routes did not (an unknown route, a method not allowed, a body over the limit) with the same
/// JSON error body as the trigger API, so every answer of the relay's HTTP side is `{"error":…}`.
struct RelayErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return TriggerController.json(error.status, #"{"error":"# + JSON.quoted(error.status.reasonPhrase.lowercased()) + "}")
        } catch is NIOTooManyBytesError {
            return TriggerController.json(.contentTooLarge, #"{"error":"request body too large"}"#)
        } catch {
            context.logger.error("relay HTTP request failed", metadata: ["usher.error": "\(error)"])
            return TriggerController.json(.internalServerError, #"{"error":"internal error"}"#)
        }
    }
}

/// A refused trigger request: the status and a message naming what was wrong (never a secret).
struct TriggerRefusal: Error {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}
