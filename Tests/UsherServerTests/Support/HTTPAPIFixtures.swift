import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import UsherCore
import UsherCrypto
import UsherStore
@testable import UsherServer

/// Signs Pusher HTTP API requests the way the official server SDKs do (PUSHER-PROTOCOL.md §7): auth params added,
/// lower-case keys sorted and joined unescaped, `METHOD\nPATH\nparams` signed with HMAC-SHA256, values put into the
/// URL unescaped.
struct APISigner: Sendable {
    var key = Fixtures.appKey
    var secret = Fixtures.appSecret
    /// pusher-http-python sends `body_md5` on every request; pusher-http-node only with a body.
    var md5OnEmptyBody = true

    static let python = APISigner()
    static let node = APISigner(md5OnEmptyBody: false)

    /// The auth params for `body` at `timestamp`, merged with `params`.
    func authParams(_ params: [String: String], body: String, timestamp: Int64) -> [String: String] {
        var all = params
        all["auth_key"] = key
        all["auth_timestamp"] = String(timestamp)
        all["auth_version"] = "1.0"
        if !body.isEmpty || md5OnEmptyBody { all["body_md5"] = Hex.encode(MD5.hash(Array(body.utf8))) }
        return all
    }

    /// The string an SDK signs for these params (already including the auth params).
    static func stringToSign(_ method: HTTPRequest.Method, _ path: String, _ params: [String: String]) -> String {
        APIRequestSignature.stringToSign(method: method.rawValue, path: path, params: params)
    }

    /// `path?query` as an SDK sends it; `signature` may alter the computed signature, `after` the params once signed.
    func target(
        _ method: HTTPRequest.Method, _ path: String, params: [String: String] = [:], body: String = "",
        timestamp: Int64 = Fixtures.now(), signature: (String) -> String = { $0 },
        after: ([String: String]) -> [String: String] = { $0 }
    ) -> String {
        var all = authParams(params, body: body, timestamp: timestamp)
        let mac = HMACKey(secret: Array(secret.utf8)).hexMAC(Self.stringToSign(method, path, all))
        all = after(all)
        all["auth_signature"] = signature(mac)
        return path + "?" + all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: "&")
    }
}

extension RelayClient {
    /// Sends a signed HTTP API request (GET without a body, POST with `body`).
    func api(
        _ method: HTTPRequest.Method = .get, _ path: String, params: [String: String] = [:], body: String? = nil,
        signer: APISigner = .python, timestamp: Int64 = Fixtures.now()
    ) async throws -> TestResponse {
        let target = signer.target(method, path, params: params, body: body ?? "", timestamp: timestamp)
        return try await raw(method, target, body: body)
    }

    /// Sends `target` exactly as given (for hand-tampered requests).
    func raw(_ method: HTTPRequest.Method, _ target: String, body: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: target, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension RelayServer {
    /// Subscribes `socket` to `channel` directly in the store (as the relay API would after verifying auth); presence
    /// channels need `user`.
    func join(_ channel: String, socket: String, user: String? = nil, info: JSONValue? = nil, node: String = "r1") async throws {
        let name = try ChannelName(validating: channel)
        let member = user.map { PresenceMember(userID: $0, userInfo: info) }
        let subscription = try Subscription(app: Fixtures.appID, socketID: SocketID(validating: socket), channel: name, member: member)
        _ = try await store.join(subscription, node: NodeID(validating: node), limits: PresenceLimits(maxMembers: 1000))
    }

    /// presence-room (users 42 and 7 over three sockets), presence-lobby (user 9), private-foobar (one socket) and
    /// news (two sockets).
    func seed() async throws {
        try await join("presence-room", socket: "1.1", user: "42", info: .object(["name": .string("Ann")]))
        try await join("presence-room", socket: "1.2", user: "42")
        try await join("presence-room", socket: "2.1", user: "7")
        try await join("presence-lobby", socket: "3.1", user: "9")
        try await join("private-foobar", socket: "1.1")
        try await join("news", socket: "1.1")
        try await join("news", socket: "4.1")
    }
}

extension TestResponse {
    /// The `error` text of a `{"error":…}` body.
    var errorMessage: String? { json?["error"]?.stringValue }

    /// The user ids of a `{"users":[{"id":…}]}` answer, in the order sent.
    var userIDs: [String] {
        guard case .array(let users)? = json?["users"] else { return [] }
        return users.compactMap { $0["id"]?.stringValue }
    }
}

/// `.object` from string keys to integers, for comparing `{"user_count":2}`-style answers.
func counts(_ values: [String: Int64]) -> JSONValue {
    .object(values.mapValues { .integer($0) })
}
