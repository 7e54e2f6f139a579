import UsherNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// The credentials of PUSHER-PROTOCOL.md §11 and the identity secret every test token is signed with.
enum Fixtures {
    static let appID = "3"
    static let appKey = "278d425bdf160c739803"
    static let appSecret = "7ad3773142a6692b25b8"
    static let masterKey = Array("01234567890123456789012345678901".utf8)
    static let identitySecret = Array("usher-tests-identity-secret-0123456789".utf8)

    /// The §11 app, with the V8 encryption master key, built through `App.init` (which accepts 20-character secrets).
    static func pusherApp() throws -> App {
        try App(
            id: appID, key: appKey, name: "pusher-vectors",
            secrets: [AppSecret(id: "s1", secret: appSecret, created: Date(timeIntervalSince1970: 0))],
            encryptionMasterKey: masterKey
        )
    }

    /// Identity settings verifying HS256 tokens signed with ``identitySecret``.
    static func identity(cookie: String? = nil, kid: String? = nil) throws -> IdentitySettings {
        IdentitySettings(keys: [try JWTKey.hmac(secret: identitySecret, kid: kid)], cookie: cookie)
    }

    /// The rules most HTTP tests run against.
    static let rules = [
        ChannelRule(pattern: "private-user-{sub}"),
        ChannelRule(pattern: "private-admin-*", require: ["role": ["admin"]]),
        ChannelRule(pattern: "private-foobar"),
        ChannelRule(pattern: "private-encrypted-*"),
        ChannelRule(pattern: "presence-*"),
    ]

    static func settings(id: String = appID, identity: IdentitySettings? = nil, origins: [String] = []) throws -> AppSettings {
        AppSettings(id: id, identity: try identity ?? Self.identity(), channelRules: rules, corsOrigins: origins)
    }

    /// An HS256 token for `sub` with a five-minute expiry; `extra` claims are merged over the defaults.
    static func token(
        sub: String = "u1", extra: [String: JSONValue] = [:], secret: [UInt8] = identitySecret, kid: String? = nil
    ) throws -> String {
        var claims: [String: JSONValue] = [
            "sub": .string(sub), "iat": .integer(now()), "exp": .integer(now() + 300),
        ]
        claims.merge(extra) { $1 }
        return try JWTSigner(key: JWTKey.hmac(secret: secret, kid: kid)).sign(claims)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    static var quietLogger: Logger {
        var logger = Logger(label: "usher-server-tests")
        logger.logLevel = .critical
        return logger
    }
}

/// A fresh directory under the system temporary folder; nothing is created on disk until used.
struct TemporaryDirectory: Sendable {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("usher-tests-\(UUID().uuidString)").path

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to `name` inside the directory (created if needed) with POSIX `mode`.
    @discardableResult
    func write(_ text: String, to name: String, mode: Int = 0o600) throws -> String {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return file
    }
}

/// An Usher server over a private key directory, exercised through HummingbirdTesting's router framework.
struct TestServer {
    var configuration = UsherConfiguration()
    /// Closes connections idle this long (none by default).
    var idleTimeout: Duration?
    /// Serves HTTPS with these certificates (plain HTTP by default).
    var tls: TLSCertificates?
    var logger = Fixtures.quietLogger
    let keys = TemporaryDirectory()

    /// Stores `apps` in a new key directory and serves them with `settings`.
    init(apps: [App], settings: [AppSettings], dev: Bool = false) throws {
        configuration.keysDirectory = keys.path
        configuration.apps = settings
        configuration.dev = dev
        configuration.eventLoopThreads = 1
        let store = AppCredentialStore(directory: KeyDirectory(path: keys.path))
        for app in apps { try store.create(app) }
    }

    /// The §11 app with the default identity and rules.
    static func pusher(origins: [String] = [], identity: IdentitySettings? = nil) throws -> TestServer {
        try TestServer(apps: [Fixtures.pusherApp()], settings: [Fixtures.settings(identity: identity, origins: origins)])
    }

    /// Runs `test` against the server built as `buildApplication` builds it (router, and the event-loop fast path for
    /// `POST /pusher/auth`), through HummingbirdTesting's `setup` framework, then removes the key directory.
    ///
    /// The default is a live server over loopback, so auth requests take the fast path a deployment takes;
    /// `.router` calls the router directly (the path every auth request took before the fast path).
    func run(_ setup: TestingSetup = .live, _ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { keys.remove() }
        let apps = try AppCredentialStore(directory: KeyDirectory(path: configuration.keysDirectory)).loadAll()
        let registry = AppRegistryBox(try AppRegistry(apps: apps, configuration: configuration, now: Date()))
        let components = ServerComponents.forTesting(registry: registry)
        let app = Application(
            router: buildRouter(configuration: configuration, components: components),
            server: buildHTTPServer(configuration: configuration, components: components, idleTimeout: idleTimeout, tls: tls, logger: logger),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: logger
        )
        try await app.test(setup, test)
    }
}

/// Request bodies and headers as pusher-js builds them.
enum AuthRequest {
    /// `application/x-www-form-urlencoded` with every key and value through `encodeURIComponent`.
    static func form(_ fields: KeyValuePairs<String, String>) -> ByteBuffer {
        ByteBuffer(string: fields.map { "\(encode($0.key))=\(encode($0.value))" }.joined(separator: "&"))
    }

    static func encode(_ text: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()".utf8)
        return text.utf8.map { unreserved.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
    }

    static func headers(token: String? = nil, contentType: String? = "application/x-www-form-urlencoded") -> HTTPFields {
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return headers
    }
}

extension TestClientProtocol {
    /// POSTs a form to `uri` and hands back the response.
    func post(
        _ fields: KeyValuePairs<String, String>, to uri: String = "/pusher/auth", token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = AuthRequest.headers(token: token)
        headers.append(contentsOf: extra)
        return try await execute(uri: uri, method: .post, headers: headers, body: AuthRequest.form(fields))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object of strings; empty when it is anything else.
    var fields: [String: String] {
        guard case .object(let members)? = try? JSONValue.parse(text) else { return [:] }
        return members.compactMapValues(\.stringValue)
    }
}

/// Checks a refusal: the exact status, a `{"error": "…"}` body with nothing else, and none of `secrets` in it.
func expectRefusal(
    _ response: TestResponse, _ status: HTTPResponse.Status, secrets: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    let object = try? JSONValue.parse(response.text)
    guard case .object(let members)? = object, members.count == 1, let message = members["error"]?.stringValue else {
        Issue.record("not an {\"error\": …} body: \(response.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(!message.isEmpty, sourceLocation: sourceLocation)
    for secret in secrets + [Fixtures.appSecret, String(decoding: Fixtures.identitySecret, as: UTF8.self)] {
        #expect(!response.text.contains(secret), "refusal leaks a secret", sourceLocation: sourceLocation)
    }
}
