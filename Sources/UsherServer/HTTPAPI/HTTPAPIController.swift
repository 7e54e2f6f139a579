import Foundation
import Hummingbird
import NIOCore
import UsherCore
import UsherCrypto

/// The Pusher HTTP API subset for presence listing and user termination (PUSHER-PROTOCOL.md §7), so app backends
/// can point the official server SDKs at Usher.
struct HTTPAPIController: Sendable {
    let verifier: APIRequestVerifier
    let store: any PresenceStore
    let channelNameMaxLength: Int

    func register(with router: Router<some RequestContext>) {
        router.get("/apps/{app}/channels") { request, context in try await channels(request, context: context) }
        router.get("/apps/{app}/channels/{channel}") { request, context in try await channel(request, context: context) }
        router.get("/apps/{app}/channels/{channel}/users") { request, context in try await users(request, context: context) }
        router.post("/apps/{app}/users/{user}/terminate_connections") { request, context in
            try await terminate(request, context: context, appID: try context.parameters.require("app"))
        }
        // pusher-http-python 3.3.4 posts here, without the /apps/{id} prefix, and signs this path.
        router.post("/users/{user}/terminate_connections") { request, context in try await terminate(request, context: context, appID: nil) }
    }

    func channels(_ request: Request, context: some RequestContext) async throws -> Response {
        let verified = try await verifier.authenticate(request, appID: try context.parameters.require("app"))
        let app = verified.app
        let prefix = verified.parameters["filter_by_prefix"]
        let info = try Self.attributes(verified.parameters, allowed: ["user_count", "subscription_count"])
        if info.contains("user_count"), !(prefix ?? "").hasPrefix("presence-") {
            throw APIRefusal.badRequest("info=user_count requires filter_by_prefix=presence-")
        }
        var body = #"{"channels":{"#
        for (index, summary) in try await store.channels(app: app.app.id, prefix: prefix).enumerated() {
            if index > 0 { body += "," }
            body += JSON.quoted(summary.name) + ":" + Self.counts(summary, info: info)
        }
        return .json(body + "}}")
    }

    func channel(_ request: Request, context: some RequestContext) async throws -> Response {
        let verified = try await verifier.authenticate(request, appID: try context.parameters.require("app"))
        let app = verified.app
        let channel = try channelName(context)
        let info = try Self.attributes(verified.parameters, allowed: ["user_count", "subscription_count"])
        if info.contains("user_count"), channel.kind != .presence {
            throw APIRefusal.badRequest("user_count is only available for presence channels")
        }
        let counts = try await store.counts(app: app.app.id, channel: channel.name)
        guard counts.subscriptions > 0 || counts.users > 0 else { return .json(#"{"occupied":false}"#) }
        var body = #"{"occupied":true"#
        if info.contains("user_count") { body += #","user_count":"# + String(counts.users) }
        if info.contains("subscription_count") { body += #","subscription_count":"# + String(counts.subscriptions) }
        return .json(body + "}")
    }

    /// Streams `{"users":[…]}` in chunks, so a 100,000-member listing never becomes one giant string.
    func users(_ request: Request, context: some RequestContext) async throws -> Response {
        let verified = try await verifier.authenticate(request, appID: try context.parameters.require("app"))
        let app = verified.app
        let channel = try channelName(context)
        guard channel.kind == .presence else { throw APIRefusal.badRequest("users are only listed for presence channels") }
        let withInfo = ["1", "true"].contains(verified.parameters["with_user_info"] ?? "")
        let members = try await store.members(app: app.app.id, channel: channel.name, withUserInfo: withInfo)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            var buffer = ByteBuffer(string: #"{"users":["#)
            for (index, member) in members.enumerated() {
                if index > 0 { buffer.writeString(",") }
                buffer.writeString(#"{"id":"# + JSON.quoted(member.userID))
                if withInfo { buffer.writeString(#","user_info":"# + (member.userInfoJSON ?? "{}")) }
                buffer.writeString("}")
                if buffer.readableBytes >= 16 * 1024 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            buffer.writeString("]}")
            try await writer.write(buffer)
            try await writer.finish(nil)
        })
    }

    func terminate(_ request: Request, context: some RequestContext, appID: String?) async throws -> Response {
        let app = try await verifier.authenticate(request, appID: appID).app
        let user = try context.parameters.require("user")
        let userID = user.removingPercentEncoding ?? user
        guard !userID.isEmpty, userID.unicodeScalars.count <= app.limits.maxUserIDLength else {
            throw APIRefusal.badRequest("invalid user id")
        }
        try await store.append([AppendedEvent(kind: .terminateConnections, app: app.app.id, userID: userID)])
        return .json("{}")
    }

    private func channelName(_ context: some RequestContext) throws -> ChannelName {
        let raw = try context.parameters.require("channel")
        return try ChannelName(validating: raw.removingPercentEncoding ?? raw, maxLength: channelNameMaxLength)
    }

    /// The comma-separated `info` attributes; unknown ones are a 400.
    static func attributes(_ parameters: [String: String], allowed: Set<String>) throws -> Set<String> {
        guard let info = parameters["info"], !info.isEmpty else { return [] }
        let names = Set(info.split(separator: ",").map(String.init))
        if let unknown = names.subtracting(allowed).first { throw APIRefusal.badRequest("unknown info attribute \(unknown)") }
        return names
    }

    static func counts(_ summary: ChannelSummary, info: Set<String>) -> String {
        var parts: [String] = []
        if info.contains("user_count"), let users = summary.userCount { parts.append(#""user_count":"# + String(users)) }
        if info.contains("subscription_count") { parts.append(#""subscription_count":"# + String(summary.subscriptionCount)) }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
