import UsherCrypto

/// The relay API calls a batch carries (DESIGN.md, Relay contract), each answered as its single call would be.
extension CallBatcher {
    /// Joins a socket to a channel: the `POST /relay/v1/apps/{app}/subscriptions` call as a `join` op.
    ///
    /// - Parameter listMembers: For presence channels, whether Usher answers with the member list. `false` sends
    ///   `"presence": false`, for a join whose list this node already tracks (``ConnectionHub/beginJoin(app:channel:mayUseLocalList:)``).
    func join(
        app: String, socketID: String, channel: String, auth: String?, channelData: String?, userData: String? = nil, listMembers: Bool = true
    ) async throws -> UsherAPI.SubscribeOutcome {
        var op: [String: JSONValue] = [
            "op": .string("join"), "app": .string(app), "socket_id": .string(socketID), "channel": .string(channel),
        ]
        if let auth { op["auth"] = .string(auth) }
        if let channelData { op["channel_data"] = .string(channelData) }
        if let userData { op["user_data"] = .string(userData) }
        if !listMembers { op["presence"] = .bool(false) }
        let reply = try await submit(JSONValue.object(op).jsonText)
        guard reply.status == 200 else {
            let code = reply.body?["code"].flatMap { if case .integer(let code) = $0 { Int(code) } else { nil } }
            return .refused(status: reply.status, code: code, message: reply.body?["error"]?.stringValue ?? "refused by Usher (\(reply.status))")
        }
        return .subscribed(presence: reply.body?["presence"])
    }

    /// Unsubscribes a socket: the `DELETE /relay/v1/apps/{app}/subscriptions` call as a `leave` op.
    func leave(app: String, socketID: String, channel: String) async throws {
        let op = JSONValue.object(["op": .string("leave"), "app": .string(app), "socket_id": .string(socketID), "channel": .string(channel)])
        try Self.expectOK(try await submit(op.jsonText), "leave")
    }

    /// Reports a closed socket: the `DELETE /relay/v1/apps/{app}/sockets/{socket_id}` call as a `disconnect` op;
    /// Usher starts the leave grace.
    func disconnect(app: String, socketID: String) async throws {
        let op = JSONValue.object(["op": .string("disconnect"), "app": .string(app), "socket_id": .string(socketID)])
        try Self.expectOK(try await submit(op.jsonText), "disconnect")
    }

    private static func expectOK(_ reply: UsherAPI.Reply, _ op: String) throws {
        guard reply.status == 200 else {
            throw RelayError.usher("\(op) answered \(reply.status): \(reply.body?["error"]?.stringValue ?? "-")")
        }
    }
}
