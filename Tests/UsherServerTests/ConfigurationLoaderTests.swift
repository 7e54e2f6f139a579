import Foundation
import Testing
import UsherCore
import UsherCrypto
@testable import UsherServer

/// `usher.yaml`: the documented example loads, and every mistake fails at start naming the field.
@Suite struct ConfigurationLoaderTests {
    static let example = """
        server: { port: 9999 }
        relay: { subscription_count_interval_ms: 2500 }
        apps:
          - id: "3"
            identity:
              hs256_secret_file: identity.secret
              issuer: https://app.example
              audience: usher
            channels:
              - match: "private-user-{sub}"
              - match: "presence-*"
              - match: "private-admin-*"
                require: { role: [admin] }
            presence: { max_members: 100, max_user_info_bytes: 1024 }
            cors: { origins: ["https://app.example"] }
            client_events: { per_second: 5 }
            subscription_count: true
            webhooks: { url: "https://app.example/hooks", events: [channel_vacated, subscription_count] }
        """

    /// Loads `yaml` from a folder holding a 0600 identity secret (`secretMode`/`secret` to vary it).
    static func load(
        _ yaml: String, secret: String = "0123456789abcdef0123456789abcdef\n", secretMode: Int = 0o600
    ) throws(ServerError) -> UsherConfiguration {
        let folder = TemporaryDirectory()
        defer { folder.remove() }
        do { try folder.write(secret, to: "identity.secret", mode: secretMode) } catch { Issue.record(error) }
        let file = (try? folder.write(yaml, to: "usher.yaml")) ?? ""
        var configuration = UsherConfiguration()
        try ConfigurationLoader.load(file: file, into: &configuration)
        return configuration
    }

    /// Expects loading `yaml` to fail with a message containing every one of `fragments`.
    static func expectFailure(
        _ yaml: String, secretMode: Int = 0o600, secret: String = "0123456789abcdef0123456789abcdef",
        naming fragments: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: ServerError.invalidConfiguration, sourceLocation: sourceLocation) {
            try load(yaml, secret: secret, secretMode: secretMode)
        }
        for fragment in fragments {
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error")", sourceLocation: sourceLocation)
        }
    }

    @Test("server.tls names the pair; relative paths are the config file's folder's")
    func tlsFiles() throws {
        let configuration = try Self.load("server: { tls: { cert_file: tls/chain.pem, key_file: /etc/usher/key.pem } }")
        let tls = try #require(configuration.tls)
        #expect(tls.certificateChain.hasSuffix("/tls/chain.pem") && tls.certificateChain.hasPrefix("/"))
        #expect(tls.privateKey == "/etc/usher/key.pem")
    }

    @Test("the documented example loads every field")
    func example() throws {
        let configuration = try Self.load(Self.example)
        #expect(configuration.port == 9999)
        let app = try #require(configuration.apps.first)
        #expect(configuration.apps.count == 1)
        #expect(app.id == "3")
        #expect(app.channelRules == [
            ChannelRule(pattern: "private-user-{sub}"), ChannelRule(pattern: "presence-*"),
            ChannelRule(pattern: "private-admin-*", require: ["role": ["admin"]]),
        ])
        #expect(app.presence == PresenceLimits(maxMembers: 100, maxUserInfoBytes: 1024))
        #expect(app.corsOrigins == ["https://app.example"])
        #expect(app.clientEventsPerSecond == 5)
        #expect(app.subscriptionCount)
        #expect(app.webhooks?.events == [.channelVacated, .subscriptionCount])
        #expect(configuration.subscriptionCountInterval == .milliseconds(2500))
        let identity = try #require(app.identity)
        #expect(identity.issuer == "https://app.example")
        #expect(identity.audience == "usher")
        #expect(identity.keys.map(\.algorithm) == [.hs256])
    }

    @Test("the loaded identity key verifies tokens signed with the file's secret, trailing newline trimmed")
    func exampleKeyWorks() throws {
        let identity = try #require(try Self.load(Self.example).apps.first?.identity)
        let secret = Array("0123456789abcdef0123456789abcdef".utf8)
        let token = try JWTSigner(key: .hmac(secret: secret)).sign([
            "sub": .string("u1"), "exp": .integer(Fixtures.now() + 60), "iss": .string("https://app.example"), "aud": .string("usher"),
        ])
        let verifier = IdentityVerifier(settings: identity)
        #expect(try verifier.identity(token: token[...], now: Date(), logger: Fixtures.quietLogger).userID == "u1")
    }

    @Test("an unknown field fails naming its path", arguments: [
        ("serverr: {}", ["serverr: unknown field"]),
        ("server: { prot: 1 }", ["server.prot"]),
        ("apps: [{ id: a, name: x }]", ["apps[0]", "name"]),
        ("apps: [{ id: a, identity: { hs256_secret_file: identity.secret, isuer: x } }]", ["apps[0].identity.isuer"]),
        ("apps: [{ id: a, channels: [{ match: x, requires: {} }] }]", ["apps[0].channels[0]", "requires"]),
        ("apps: [{ id: a, presence: { max_member: 1 } }]", ["apps[0].presence", "max_member"]),
        ("apps: [{ id: a, cors: { origin: [x] } }]", ["apps[0].cors", "origin"]),
        ("apps: [{ id: a, client_events: { per_sec: 3 } }]", ["apps[0].client_events", "per_sec"]),
        ("apps: [{ id: a, client_events: { per_second: 0 } }]", ["apps[0].client_events.per_second"]),
        ("apps: [{ id: a, subscription_count: 1 }]", ["apps[0].subscription_count"]),
        ("relay: { subscription_count_interval_ms: 50 }", ["relay.subscription_count_interval_ms"]),
        ("server: { tls: { cert_file: a.pem } }", ["server.tls", "cert_file and key_file are both required"]),
        ("server: { tls: { cert_file: a.pem, key_file: a.key, ca_file: c } }", ["server.tls", "ca_file"]),
    ])
    func unknownField(yaml: String, fragments: [String]) {
        Self.expectFailure(yaml, naming: fragments)
    }

    @Test("a missing identity secret file fails naming the field")
    func missingSecretFile() {
        Self.expectFailure(
            "apps: [{ id: a, identity: { hs256_secret_file: nowhere.secret } }]",
            naming: ["apps[0].identity.hs256_secret_file", "nowhere.secret"]
        )
    }

    @Test("a group- or world-readable secret file fails naming the field and chmod 600", arguments: [0o644, 0o640, 0o604])
    func readableSecretFile(mode: Int) {
        Self.expectFailure(
            "apps: [{ id: a, identity: { hs256_secret_file: identity.secret } }]", secretMode: mode,
            naming: ["apps[0].identity.hs256_secret_file", "chmod 600"]
        )
    }

    @Test("a secret shorter than 32 bytes fails naming the field (newlines do not count)")
    func shortSecret() {
        Self.expectFailure(
            "apps: [{ id: a, identity: { hs256_secret_file: identity.secret } }]", secret: "0123456789abcdef0123456789abcde\n\n",
            naming: ["apps[0].identity.hs256_secret_file", "32"]
        )
    }

    @Test("identity with two sources or none fails naming the identity", arguments: [
        "{ hs256_secret_file: identity.secret, public_key_file: identity.secret }",
        "{ hs256_secret_file: identity.secret, jwks_file: identity.secret }",
        "{ issuer: x }",
    ])
    func identitySources(identity: String) {
        Self.expectFailure("apps: [{ id: a, identity: \(identity) }]", naming: ["apps[0].identity", "exactly one"])
    }

    @Test("a bad port fails naming server.port", arguments: ["-1", "65536", "http", "[80]", "8.5"])
    func badPort(port: String) {
        Self.expectFailure("server: { port: \(port) }", naming: ["server.port"])
    }

    @Test("an app listed twice fails naming the second entry")
    func duplicateApp() {
        Self.expectFailure("apps: [{ id: a }, { id: b }, { id: a }]", naming: ["apps[2].id", "\"a\""])
    }

    @Test("other mistakes name their field", arguments: [
        ("apps: [{ channels: [] }]", ["apps[0]", "id"]),
        ("apps: [{ id: a, channels: [{ require: {} }] }]", ["apps[0].channels[0]", "match"]),
        ("apps: [{ id: a, channels: [{ match: x, require: { role: [] } }] }]", ["apps[0].channels"]),
        ("apps: [{ id: a, presence: { max_members: 0 } }]", ["apps[0].presence.max_members"]),
        ("server: { max_body_bytes: 10 }", ["server.max_body_bytes"]),
        ("apps: { id: a }", ["apps", "list"]),
        ("server: [", ["YAML"]),
        ("server: { port: 1, port: 2 }", ["port"]),
    ])
    func otherMistakes(yaml: String, fragments: [String]) {
        Self.expectFailure(yaml, naming: fragments)
    }

    @Test("an empty file keeps the defaults")
    func emptyFile() throws {
        let configuration = try Self.load("")
        #expect(configuration.port == UsherConfiguration().port)
        #expect(configuration.apps.isEmpty)
    }
}
