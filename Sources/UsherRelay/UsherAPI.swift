import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import UsherCore
import UsherCrypto

/// The relay API of Usher (DESIGN.md, Relay contract), called with the relay token. The relay keeps no copy of the
/// authorization or presence rules: every decision comes back from these calls.
struct UsherAPI: Sendable {
    let client: HTTPClient
    let baseURL: String
    let token: String
    let node: NodeID
    /// Per-request deadline; a relay must never hang a client's subscribe on a stuck Usher. A call queued behind a
    /// batch in flight waits at most for that batch and its own (see ``CallBatcher``).
    var timeout: TimeAmount = .seconds(10)
    /// Times every call (latency histogram, failures).
    var metrics: RelayMetrics?

    /// What Usher answered to a subscription.
    enum SubscribeOutcome: Sendable {
        /// Accepted; for presence channels with the member list and whether this socket's user is new.
        case subscribed(presence: JSONValue?)
        /// Refused with the HTTP status and, for 403/409, the Pusher code (4009, 4100, 4301).
        case refused(status: Int, code: Int?, message: String)
    }

    /// What Usher answered to one op of a batch: exactly the status and JSON body the single call would have had.
    struct Reply: Sendable {
        let status: Int
        let body: JSONValue?
    }

    /// `POST /relay/v1/nodes/{node}/batch` with `ops` (JSON texts, in order): one reply per op, in the same order.
    ///
    /// A whole request refused (401 for a wrong relay token, 413, 503…) gives every op that status and body, as each
    /// single call would have got; an answer that does not match the ops throws, like a call that never returned.
    func batch(_ ops: [String]) async throws -> [Reply] {
        let (status, json) = try await call(.POST, "/relay/v1/nodes/\(node)/batch", body: #"{"ops":["# + ops.joined(separator: ",") + "]}")
        guard status == 200 else { return Array(repeating: Reply(status: status, body: json), count: ops.count) }
        guard case .array(let results)? = json?["results"], results.count == ops.count else {
            throw RelayError.usher("POST /relay/v1/nodes/\(node)/batch answered without one result per op")
        }
        return try results.map { result in
            guard case .integer(let status)? = result["status"] else { throw RelayError.usher("a batch result without a status") }
            return Reply(status: Int(status), body: result)
        }
    }

    /// The node lease Usher answers to heartbeats and snapshots.
    struct Lease: Sendable, Equatable {
        let epoch: String
        let resync: Bool
        /// What Usher's configuration asks relays to enforce, by app id (an app not listed keeps the defaults).
        var apps: [String: AppFeatures] = [:]
        /// The forward URLs of the other live nodes (heartbeat answers).
        var peers: [String] = []
        /// Client connections per app on the other live nodes (heartbeat answers).
        var connections: [String: Int] = [:]
    }

    /// `PUT /relay/v1/nodes/{node}`, announcing `forwardURL` when given and this node's connections per app.
    func heartbeat(forwardURL: String? = nil, connections: [String: Int] = [:]) async throws -> Lease {
        var body: [String: JSONValue] = ["connections": .object(connections.mapValues { .integer(Int64($0)) })]
        if let forwardURL { body["forward_url"] = .string(forwardURL) }
        return try lease(try await expectOK(.PUT, "/relay/v1/nodes/\(node)", body: JSONValue.object(body).jsonText))
    }

    /// `PUT /relay/v1/nodes/{node}/sockets` with every subscription this node holds.
    func replaceSockets(_ entries: [(app: String, socketID: String, channel: String, channelData: String?)]) async throws -> Lease {
        let list = entries.map { entry -> JSONValue in
            var object: [String: JSONValue] = [
                "app": .string(entry.app), "socket_id": .string(entry.socketID), "channel": .string(entry.channel),
            ]
            if let data = entry.channelData { object["channel_data"] = .string(data) }
            return .object(object)
        }
        return try lease(try await expectOK(.PUT, "/relay/v1/nodes/\(node)/sockets", body: JSONValue.object(["subscriptions": .array(list)]).jsonText))
    }

    /// `GET /relay/v1/apps/{app}/presence/{channel}`: `{"ids":…,"hash":…,"count":…}`.
    func presence(app: String, channel: String) async throws -> JSONValue? {
        try await expectOK(.GET, "/relay/v1/apps/\(escape(app))/presence/\(escape(channel))", body: nil)?["presence"]
    }

    /// `GET /relay/v1/apps/{app}/channels/{channel}`: the cluster-wide subscription and user counts.
    func counts(app: String, channel: String) async throws -> (subscriptions: Int, users: Int) {
        let json = try await expectOK(.GET, "/relay/v1/apps/\(escape(app))/channels/\(escape(channel))", body: nil)
        guard case .integer(let subscriptions)? = json?["subscription_count"], case .integer(let users)? = json?["user_count"] else {
            throw RelayError.usher("channel counts without subscription_count and user_count")
        }
        return (Int(subscriptions), Int(users))
    }

    /// `POST /relay/v1/nodes/{node}/reports` with reports (JSON texts) for the apps' webhooks.
    func report(_ reports: [String]) async throws {
        try await expectOK(.POST, "/relay/v1/nodes/\(node)/reports", body: #"{"reports":["# + reports.joined(separator: ",") + "]}")
    }

    /// `POST /relay/v1/apps/{app}/online`: which of `userIDs` are online now, in their order.
    func online(app: String, userIDs: [String]) async throws -> [String] {
        let body = JSONValue.object(["user_ids": .array(userIDs.map(JSONValue.string))]).jsonText
        let json = try await expectOK(.POST, "/relay/v1/apps/\(escape(app))/online", body: body)
        guard case .array(let online)? = json?["online"] else { throw RelayError.usher("online answer without an online list") }
        return online.compactMap(\.stringValue)
    }

    /// Opens `GET /relay/v1/events`, resuming after `lastEventID`; the caller streams the body.
    func events(after lastEventID: UInt64?) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + "/relay/v1/events")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await client.execute(request, timeout: timeout)
        guard response.status == .ok else { throw RelayError.usher("GET /relay/v1/events answered \(response.status.code)") }
        return response
    }

    private func lease(_ json: JSONValue?) throws -> Lease {
        guard let epoch = json?["epoch"]?.stringValue else { throw RelayError.usher("node lease without an epoch") }
        var apps: [String: AppFeatures] = [:]
        if case .object(let listed)? = json?["apps"] { apps = listed.mapValues { AppFeatures(json: $0) } }
        var peers: [String] = []
        if case .array(let listed)? = json?["peers"] { peers = listed.compactMap { $0["forward_url"]?.stringValue } }
        var connections: [String: Int] = [:]
        if case .object(let counts)? = json?["connections"] {
            for (app, value) in counts { if case .integer(let count) = value, count >= 0 { connections[app] = Int(count) } }
        }
        return Lease(epoch: epoch, resync: json?["resync"] == .bool(true), apps: apps, peers: peers, connections: connections)
    }

    @discardableResult
    private func expectOK(_ method: HTTPMethod, _ path: String, body: String?) async throws -> JSONValue? {
        let (status, json) = try await call(method, path, body: body)
        guard status == 200 else {
            throw RelayError.usher("\(method) \(path) answered \(status): \(json?["error"]?.stringValue ?? "-")")
        }
        return json
    }

    private func call(_ method: HTTPMethod, _ path: String, body: String?) async throws -> (Int, JSONValue?) {
        guard let metrics else { return try await send(method, path, body: body) }
        return try await metrics.usherCall { try await send(method, path, body: body) }
    }

    private func send(_ method: HTTPMethod, _ path: String, body: String?) async throws -> (Int, JSONValue?) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), try? JSONValue.parse(bytes: Array(buffer: bytes)))
    }

    /// Percent-escapes a path segment: `@ , ; =` may stay (RFC 3986 sub-delims), `#` may not.
    private func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~=@,;"))) ?? segment
    }
}
