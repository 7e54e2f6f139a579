import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
public import UsherCore
public import UsherCrypto
public import UsherStore

/// Entry points for the libFuzzer targets of the `Fuzz/` package (docs/fuzzing.md): the server's parsers of untrusted
/// bytes, reached through the internal code the routes run. Not API: only `@_spi(Fuzzing)` importers see it, and
/// nothing in the server calls it.
@_spi(Fuzzing) public enum ServerFuzzing {
    /// A header field as the fast path stored it (`HTTPField`'s raw name and value).
    public struct Field: Equatable, Sendable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A request `WireRequest` recognised.
    public struct WireResult: Equatable, Sendable {
        /// The route's pattern, e.g. `/relay/v1/apps/{app}/subscriptions`.
        public let route: String
        /// The app of a relay subscription, the node of a relay batch; nil for `/pusher/auth`.
        public let parameter: String?
        public let target: String
        public let fields: [Field]
        public let body: [UInt8]
        public let close: Bool
        /// Bytes of head and body together.
        public let length: Int
    }

    /// `WireRequest.Outcome`, with the request flattened into plain values.
    public enum WireOutcome: Equatable, Sendable {
        case incomplete(length: Int?)
        case unsupported
        case request(WireResult)
    }

    /// The fast path's request recogniser on `bytes`, with the given limits (the server's defaults otherwise).
    public static func parseWireRequest(
        _ bytes: UnsafeRawBufferPointer, maxHeadBytes: Int = 8192, maxBodyBytes: Int = 16 * 1024, maxBatchBytes: Int = 1 << 20
    ) -> WireOutcome {
        let limits = WireRequest.Limits(maxHeadBytes: maxHeadBytes, maxBodyBytes: maxBodyBytes, maxBatchBytes: maxBatchBytes)
        switch WireRequest.parse(bytes, limits: limits) {
        case .incomplete(let length): return .incomplete(length: length)
        case .unsupported: return .unsupported
        case .request(let request):
            // The values read while parsing are the ones the field list answers.
            precondition(request.authorization == request.fields[.authorization] && request.origin == request.fields[.origin])
            let parameter: String? = switch request.route {
            case .auth: nil
            case .relaySubscribe(let app): app
            case .relayBatch(let node): node
            }
            return .request(
                WireResult(
                    route: request.route.pattern, parameter: parameter, target: request.target,
                    fields: request.fields.map { Field(name: $0.name.rawName, value: $0.value) }, body: request.body,
                    close: request.close, length: request.length))
        }
    }

    /// `AuthParameters` of a body as `POST /pusher/auth` reads it; nil when it is refused.
    public static func authParameters(body: [UInt8], contentType: String?) -> [String: String]? {
        (try? AuthParameters(body: body, contentType: contentType))?.values
    }

    /// The HTTP API's split of a request target (`APIRequestVerifier.split`): the raw path and the decoded query
    /// pairs, duplicates kept; nil when it is refused.
    public static func splitAPITarget(_ target: String) -> (path: String, query: [(name: String, value: String)])? {
        try? APIRequestVerifier.split(target)
    }

    /// What a route answered: its status and JSON body (an error's body as the server writes it).
    public struct Answer: Equatable, Sendable {
        public let status: Int
        public let body: String
    }

    /// A server's controllers over a fixed set of apps, as `buildApplication` assembles them, for the targets that
    /// run whole routes: app `fuzz` (identity tokens, channel rules, small presence limits) and app `dev` (anonymous,
    /// everything allowed), in dev mode. Keys are made in a temporary directory.
    public final class Fixture: Sendable {
        public static let appID = "fuzz"
        public static let appKey = "fuzzappkey"
        public static let appSecret = "fuzz-app-secret-0123456789abcdef"
        public static let devAppID = "dev"
        public static let devAppKey = "devappkey0"
        public static let devAppSecret = "dev-app-secret-0123456789abcdef0"
        /// The HS256 secret of app `fuzz`'s identity tokens.
        public static let identitySecret = Array("fuzz-identity-secret-0123456789abcdef".utf8)
        /// The cookie that may carry an identity token.
        public static let identityCookie = "usher_token"
        /// The relay token relay calls must present (`Authorization: Bearer …`).
        public static let relayToken = "fuzz-relay-token-0123456789abcdef"
        /// Presence limits of app `fuzz`: small, so the fuzzer reaches the refusals.
        public static let limits = PresenceLimits(maxMembers: 3, maxUserInfoBytes: 128, maxUserIDLength: 32)

        let configuration: UsherConfiguration
        let registry: AppRegistryBox
        let auth: AuthController
        let relay: RelayController
        let relayToken: RelayToken
        let signingKeys: SigningKeys
        let tokens: ChannelTokens
        let apiVerifier: APIRequestVerifier
        let logger = Logger(label: "usher.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

        /// - Parameter keysDirectory: An empty directory for the channel-token signing key.
        public init(keysDirectory: String) throws {
            var configuration = UsherConfiguration()
            configuration.dev = true
            configuration.keysDirectory = keysDirectory
            var settings = AppSettings(
                id: Self.appID,
                identity: IdentitySettings(keys: [try JWTKey.hmac(secret: Self.identitySecret)], cookie: Self.identityCookie),
                channelRules: [ChannelRule(pattern: "private-team-*", require: ["team": ["blue"]]), ChannelRule(pattern: "*")],
                presence: Self.limits)
            settings.watchlistMaxIDs = 5
            configuration.apps = [settings]
            self.configuration = configuration
            let created = Date(timeIntervalSince1970: 0)
            let apps = [
                try App(
                    id: Self.appID, key: Self.appKey, secrets: [AppSecret(id: "s1", secret: Self.appSecret, created: created)],
                    encryptionMasterKey: Array(repeating: 7, count: 32)),
                try App(id: Self.devAppID, key: Self.devAppKey, secrets: [AppSecret(id: "s1", secret: Self.devAppSecret, created: created)]),
            ]
            registry = AppRegistryBox(try AppRegistry(apps: apps, configuration: configuration, now: Date()))
            let store = SigningKeyStore(directory: KeyDirectory(path: keysDirectory))
            try store.ensureActiveKey(now: Date())
            signingKeys = try store.load(now: Date())
            tokens = ChannelTokens(settings: configuration.tokens)
            relayToken = RelayToken(bytes: Array(Self.relayToken.utf8))
            auth = AuthController(registry: registry, configuration: configuration)
            relay = RelayController(
                registry: registry, store: MemoryPresenceStore(), configuration: configuration, tokens: tokens,
                signingKeys: SigningKeysBox(signingKeys))
            apiVerifier = APIRequestVerifier(
                registry: registry, signature: APIRequestSignature(maxClockSkew: configuration.apiTimestampSkew),
                maxBodyBytes: configuration.maxBodyBytes)
        }

        /// Answers a request the fast path recognised as `FastPathHandler` does (auth, or the relay token check and
        /// the relay call on `store`), errors mapped by `ErrorAnswer`.
        public func answer(_ request: WireResult, store: MemoryPresenceStore) -> Answer {
            var fields = HTTPFields()
            for field in request.fields {
                guard let name = HTTPField.Name(field.name) else { preconditionFailure("a field name the fast path kept is invalid") }
                fields.append(HTTPField(name: name, value: field.value))
            }
            return respond {
                switch request.route {
                case WireRequest.Route.auth.pattern:
                    return try auth.channelAuth(headers: fields, query: URI(request.target), body: request.body, logger: logger)
                case WireRequest.Route.relaySubscribe(app: "").pattern:
                    return try relayCall(.relaySubscribe(app: request.parameter ?? ""), body: request.body, store: store, authorization: fields[.authorization])
                default:
                    return try relayCall(.relayBatch(node: request.parameter ?? ""), body: request.body, store: store, authorization: fields[.authorization])
                }
            }
        }

        /// The text a fast-path answer writes into its outgoing buffer.
        private static func written(_ write: (inout OutgoingText) throws -> Void) throws -> String {
            var out = OutgoingText(buffer: ByteBuffer())
            try write(&out)
            return String(buffer: out.buffer)
        }

        /// `POST /pusher/auth` with `body` of `contentType` and optional extra header fields (`Authorization`,
        /// `Cookie`), as `AuthController.channelAuth` answers it.
        public func channelAuth(body: [UInt8], contentType: String?, query: String = "/pusher/auth", headers: [Field] = []) -> Answer {
            var fields = HTTPFields()
            if let contentType { fields[.contentType] = contentType }
            for field in headers {
                if let name = HTTPField.Name(field.name) { fields.append(HTTPField(name: name, value: field.value)) }
            }
            return respond { try auth.channelAuth(headers: fields, query: URI(query), body: body, logger: logger) }
        }

        /// `POST /relay/v1/apps/{app}/subscriptions` as the fast path answers it on the memory store.
        public func relaySubscribe(app: String, body: [UInt8], store: MemoryPresenceStore) -> Answer {
            respond { try relayCall(.relaySubscribe(app: app), body: body, store: store) }
        }

        /// `POST /relay/v1/nodes/{node}/batch` as the fast path answers it on the memory store.
        public func relayBatch(node: String, body: [UInt8], store: MemoryPresenceStore) -> Answer {
            respond { try relayCall(.relayBatch(node: node), body: body, store: store) }
        }

        /// The body of the fast path's answer to the relay call `route` makes with `body` on `store` (after the relay
        /// token check when `authorization` is given).
        private func relayCall(_ route: WireRequest.Route, body: [UInt8], store: MemoryPresenceStore, authorization: String?? = nil) throws -> String {
            let controller = RelayController(
                registry: relay.registry, store: store, configuration: relay.configuration, tokens: relay.tokens, signingKeys: relay.signingKeys)
            let fastPath = RelayFastPath(controller: controller, token: relayToken)
            if let authorization { try fastPath.authorize(authorization) }
            return try Self.written { out in
                guard try fastPath.start(route, body: body, logger: logger, to: &out) == nil else {
                    preconditionFailure("the memory store applies writes immediately")
                }
            }
        }

        /// App `fuzz`'s identity verifier (a fresh one, so no earlier input's cache answers) on `token`: the
        /// identity, or the error's answer.
        public func identity(token: String) -> (userID: String, userInfo: JSONValue?, claims: JWTClaims?)? {
            guard let settings = configuration.apps.first?.identity else { return nil }
            guard let identity = try? IdentityVerifier(settings: settings).identity(token: token[...], now: Date(), logger: logger) else {
                return nil
            }
            return (identity.userID, identity.userInfo, identity.claims)
        }

        /// A channel token for app `fuzz`, signed with the fixture's signing key (`ChannelTokens.issue`).
        public func issueChannelToken(userID: String, userInfo: JSONValue?, channel: String, socketID: String?) -> String? {
            guard let channel = try? ChannelName(validating: channel), let app = try? registry.current.select(key: nil, id: Self.appID) else {
                return nil
            }
            let identity = Identity(userID: userID, userInfo: userInfo, claims: nil)
            let socket = socketID.flatMap { try? SocketID(validating: $0) }
            return try? tokens.issue(with: signingKeys, app: app.app, identity: identity, channel: channel, socketID: socket, ttl: 60, now: Date())
                .token
        }

        /// `ChannelTokens.verify` for app `fuzz`: the claims, or nil when the token is refused.
        public func verifyChannelToken(_ token: String, channel: String?, socketID: String?) -> JWTClaims? {
            guard let app = try? registry.current.select(key: nil, id: Self.appID) else { return nil }
            let channel = channel.flatMap { try? ChannelName(validating: $0) }
            let socket = socketID.flatMap { try? SocketID(validating: $0) }
            return try? tokens.verify(token, with: signingKeys, app: app.app, channel: channel, socketID: socket, now: Date())
        }

        /// The HTTP API's authentication (`APIRequestVerifier.authenticate`) of a request: the parameters it
        /// verified, or the refusal's answer.
        public func authenticateAPI(method: String, target: String, body: [UInt8], appID: String?) async -> Result<[String: String], APIAnswer> {
            let head = HTTPRequest(method: HTTPRequest.Method(method) ?? .post, scheme: "http", authority: "localhost", path: target)
            let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body)))
            do {
                return .success(try await apiVerifier.authenticate(request, appID: appID).parameters)
            } catch {
                let answer = ErrorAnswer(for: error, logger: logger)
                return .failure(APIAnswer(status: answer.status.code, body: answer.body))
            }
        }

        private func respond(_ work: () throws -> String) -> Answer {
            do {
                return Answer(status: 200, body: try work())
            } catch {
                let answer = ErrorAnswer(for: error, logger: logger)
                return Answer(status: answer.status.code, body: answer.body)
            }
        }
    }

    /// An HTTP API refusal (an `Error`, so it can be a `Result`'s failure).
    public struct APIAnswer: Error, Equatable, Sendable {
        public let status: Int
        public let body: String
    }
}
