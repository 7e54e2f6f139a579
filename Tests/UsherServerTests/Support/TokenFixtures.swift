import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import UsherCore
import UsherCrypto
import UsherStore
@testable import UsherServer

/// An Usher router over a real key directory whose signing keys and apps a test rotates on disk and reloads through
/// a ``KeyReloader`` sharing the served boxes, as `usher serve` does.
struct TokenServer: Sendable {
    let keys = TemporaryDirectory()
    let configuration: UsherConfiguration
    let components: ServerComponents
    let reloader: KeyReloader
    let signing: SigningKeyStore
    let credentials: AppCredentialStore

    /// Serves `apps` (the §11 app by default) with the default identity and rules and one `alg` signing key.
    init(alg: JWTAlgorithm = .es256, apps: [App]? = nil, settings: [AppSettings]? = nil, logger: Logger = Fixtures.quietLogger) throws {
        var configuration = UsherConfiguration()
        configuration.keysDirectory = keys.path
        configuration.apps = try settings ?? [Fixtures.settings()]
        self.configuration = configuration
        let directory = KeyDirectory(path: keys.path)
        credentials = AppCredentialStore(directory: directory)
        for app in try apps ?? [Fixtures.pusherApp()] { try credentials.create(app) }
        signing = SigningKeyStore(directory: directory)
        try signing.rotate(algorithm: alg, overlap: .seconds(3600), now: Date())
        let registry = AppRegistryBox(try AppRegistry(apps: try credentials.loadAll(), configuration: configuration, now: Date()))
        components = ServerComponents(
            registry: registry, store: MemoryPresenceStore(), relayToken: RelayToken(bytes: Array(RelayFixtures.token.utf8)),
            metrics: UsherMetrics(), signingKeys: SigningKeysBox(try signing.load(now: Date())))
        reloader = KeyReloader(configuration: configuration, registry: registry, signingKeys: components.signingKeys, logger: logger)
    }

    var tokens: ChannelTokens { ChannelTokens(settings: configuration.tokens) }
    var current: SigningKeys { components.signingKeys.current }

    /// Rotates the ring on disk and reloads it into the served box; returns the new active record.
    @discardableResult
    func rotate(_ alg: JWTAlgorithm = .es256, overlap: Duration = .seconds(3600), now: Date = Date()) throws -> SigningKeyRecord {
        let record = try signing.rotate(algorithm: alg, overlap: overlap, now: now)
        reloader.reload()
        return record
    }

    /// Runs `test` against the router `buildApplication` would build over these components, then removes the keys.
    func run(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { keys.remove() }
        let router = buildRouter(configuration: configuration, components: components)
        try await Application(router: router, logger: Fixtures.quietLogger).test(.router, test)
    }
}

/// A compact JWS split and decoded, without verifying it.
struct DecodedToken {
    let header: [String: JSONValue]
    let claims: [String: JSONValue]

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        func object(_ part: String) throws -> [String: JSONValue] {
            let bytes = try #require(Base64.urlDecode(part))
            guard case .object(let members) = try JSONValue.parse(bytes: bytes) else { throw TokenTestError("not an object") }
            return members
        }
        header = try object(parts[0])
        claims = try object(parts[1])
    }

    /// `token` with its payload replaced by `claims` (the signature left as it was).
    static func replacingClaims(of token: String, with claims: [String: JSONValue]) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        return parts[0] + "." + Base64.urlEncode(Array(JSONValue.object(claims).jsonText.utf8)) + "." + parts[2]
    }
}

struct TokenTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension TestClientProtocol {
    /// `POST /v1/tokens` as a form, with an identity token for `sub` (none when `identity` is empty).
    func issueToken(_ fields: KeyValuePairs<String, String>, identity: String? = nil) async throws -> TestResponse {
        try await post(fields, to: "/v1/tokens", token: identity == "" ? nil : try identity ?? Fixtures.token(sub: "u1"))
    }

    /// Issues a token and returns it, expecting success.
    func issuedToken(
        channel: String = "private-foobar", socket: String? = nil, ttl: Int? = nil, sub: String = "u1",
        appKey: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        var body = "channel=\(AuthRequest.encode(channel))"
        if let appKey { body += "&app_key=\(appKey)" }
        if let socket { body += "&socket_id=\(socket)" }
        if let ttl { body += "&ttl=\(ttl)" }
        let response = try await execute(
            uri: "/v1/tokens", method: .post, headers: AuthRequest.headers(token: try Fixtures.token(sub: sub)),
            body: ByteBuffer(string: body))
        #expect(response.status == .ok, "\(response.text)", sourceLocation: sourceLocation)
        return try #require(response.json?["token"]?.stringValue, sourceLocation: sourceLocation)
    }

    /// `POST /v1/tokens/verify` as JSON with `fields`.
    func verifyToken(_ fields: [String: String]) async throws -> TestResponse {
        try await execute(
            uri: "/v1/tokens/verify", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: JSONValue.object(fields.mapValues(JSONValue.string)).jsonText))
    }
}

/// Relay subscribe bodies carrying a channel token instead of an auth string.
enum TokenRelay {
    static func subscribe(socket: String, channel: String, token: String, node: String = "r1") -> String {
        JSONValue.object([
            "node": .string(node), "socket_id": .string(socket), "channel": .string(channel), "token": .string(token),
        ]).jsonText
    }
}
