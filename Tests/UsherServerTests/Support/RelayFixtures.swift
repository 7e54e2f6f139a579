import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import UsherCore
import UsherCrypto
import UsherStore
@testable import UsherServer

/// Milliseconds the test moves by hand, injected into the presence store.
final class RelayClock: Sendable {
    private let millis = Mutex<Int64>(0)

    var read: @Sendable () -> Int64 { { self.millis.withLock { $0 } } }

    func advance(by delta: Int64) {
        millis.withLock { $0 += delta }
    }
}

/// Relay API requests and the §11 credentials they are signed with.
enum RelayFixtures {
    static let token = "relay-token-for-usher-tests-0123456789abcdef"
    /// Signs with the §11 secret (and the V8 master key), as the app's backend would.
    static let authorizer = try! ChannelAuthorizer(
        appKey: Fixtures.appKey, secret: HMACKey(secret: Array(Fixtures.appSecret.utf8)),
        encryptionMasterKey: Fixtures.masterKey)

    /// A subscribe body; `auth` nil omits the field, `channelData`/`userData` are sent as JSON strings.
    static func subscribe(
        node: String = "r1", socket: String, channel: String, auth: String?, channelData: String? = nil,
        userData: String? = nil
    ) -> String {
        var body: [String: JSONValue] = ["node": .string(node), "socket_id": .string(socket), "channel": .string(channel)]
        if let auth { body["auth"] = .string(auth) }
        if let channelData { body["channel_data"] = .string(channelData) }
        if let userData { body["user_data"] = .string(userData) }
        return JSONValue.object(body).jsonText
    }

    /// A subscribe body for a presence channel, signed with `authorizer` (the §11 secret by default).
    static func presence(
        node: String = "r1", socket: String, channel: String = "presence-room", user: String,
        info: JSONValue? = nil, authorizer: ChannelAuthorizer = authorizer
    ) throws -> String {
        let channelData = try ChannelData.make(userID: user, userInfo: info)
        let auth = try authorizer.authorizePresence(
            socketID: SocketID(validating: socket), channel: ChannelName(validating: channel), channelData: channelData)
        return subscribe(node: node, socket: socket, channel: channel, auth: auth.auth, channelData: channelData)
    }

    /// One entry of a node snapshot (`PUT /relay/v1/nodes/{node}/sockets`).
    static func snapshotEntry(socket: String, channel: String, user: String? = nil, app: String = Fixtures.appID) -> JSONValue {
        var entry: [String: JSONValue] = ["app": .string(app), "socket_id": .string(socket), "channel": .string(channel)]
        if let user { entry["channel_data"] = .string(#"{"user_id":"# + JSON.quoted(user) + "}") }
        return .object(entry)
    }
}

/// An Usher router over a memory store with a hand-moved clock and a known relay token, no key directory needed.
struct RelayServer {
    let clock = RelayClock()
    let store: MemoryPresenceStore
    let components: ServerComponents
    var configuration = UsherConfiguration()

    /// Serves `apps` (the §11 app by default) with `limits`, grace 0 unless given, lease 5 s; the first app's
    /// webhooks (never sent: no webhook service runs) list `webhookEvents` when given.
    init(
        apps: [App]? = nil, limits: PresenceLimits = PresenceLimits(), graceMillis: Int64 = 0, webhookEvents: Set<StreamEvent.Kind>? = nil
    ) throws {
        let apps = try apps ?? [Fixtures.pusherApp()]
        configuration.apps = apps.map { AppSettings(id: $0.id, presence: limits) }
        if let webhookEvents {
            var webhooks = WebhookSettings(url: "http://127.0.0.1:9/hooks")
            webhooks.events = webhookEvents
            configuration.apps[0].webhooks = webhooks
        }
        configuration.presence = .init(graceMillis: graceMillis, leaseMillis: 5000)
        store = MemoryPresenceStore(configuration: configuration.presence, logCapacity: 256, now: clock.read)
        let registry = AppRegistryBox(try AppRegistry(apps: apps, configuration: configuration, now: Date()))
        components = ServerComponents(
            registry: registry, store: store, relayToken: RelayToken(bytes: Array(RelayFixtures.token.utf8)),
            metrics: UsherMetrics(), signingKeys: SigningKeysBox(.empty))
    }

    /// Runs `test` against the server as `buildApplication` builds it. The default, `.router`, calls the router
    /// directly (the path relay calls take on PostgreSQL; cheap enough for dozens of tests at once); `.live` serves
    /// over loopback, so the subscribe and batch calls take the event-loop fast path a deployment on the memory store
    /// takes (`RelayFastPathTests` and `RelayBatchTests` check that both paths answer alike).
    func run(_ setup: TestingSetup = .router, _ test: @Sendable (RelayClient) async throws -> Void) async throws {
        let app = Application(
            router: buildRouter(configuration: configuration, components: components),
            server: buildHTTPServer(configuration: configuration, components: components, idleTimeout: nil, logger: Fixtures.quietLogger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Fixtures.quietLogger
        )
        try await app.test(setup) { client in try await test(RelayClient(client: client)) }
    }

    /// The events logged so far as `kind user-or-channel` strings.
    func logged(after sequence: UInt64 = 0) -> [String] {
        guard case .events(let events) = store.events(after: sequence, limit: 1000) else { return ["gap"] }
        return events.map { "\($0.kind.rawValue) \($0.userID ?? $0.channel ?? "-")" }
    }
}

/// Sends relay API requests with the relay token (or another `authorization` header, or none).
struct RelayClient: Sendable {
    let client: any TestClientProtocol

    func send(
        _ method: HTTPRequest.Method, _ path: String, json: String? = nil,
        authorization: String? = "Bearer \(RelayFixtures.token)"
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let authorization { headers[.authorization] = authorization }
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    func subscribe(_ json: String, app: String = Fixtures.appID) async throws -> TestResponse {
        try await send(.post, "/relay/v1/apps/\(app)/subscriptions", json: json)
    }

    func presence(_ channel: String = "presence-room") async throws -> TestResponse {
        try await send(.get, "/relay/v1/apps/\(Fixtures.appID)/presence/\(channel)")
    }
}

extension TestResponse {
    /// The body parsed as JSON (nil when it is not JSON).
    var json: JSONValue? { try? JSONValue.parse(text) }

    /// The user ids of a `{"presence":{"ids":[…]}}` answer, sorted.
    var presenceIDs: [String] {
        guard case .array(let ids)? = json?["presence"]?["ids"] else { return [] }
        return ids.compactMap(\.stringValue).sorted()
    }
}

/// Checks a relay refusal: the exact status and a body of exactly `{"error":"…","code":code}`.
func expectRelayRefusal(
    _ response: TestResponse, _ status: HTTPResponse.Status, code: Int, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    guard case .object(let members)? = response.json, members.count == 2,
        members["error"]?.stringValue?.isEmpty == false
    else {
        Issue.record("not an {\"error\":…,\"code\":…} body: \(response.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(members["code"] == .integer(Int64(code)), sourceLocation: sourceLocation)
}

/// A flag one task raises and another polls.
final class StopFlag: Sendable {
    private let raised = Mutex(false)

    var isRaised: Bool { raised.withLock { $0 } }

    func raise() {
        raised.withLock { $0 = true }
    }
}
