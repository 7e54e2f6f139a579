// In-process cost of Usher's auth hot paths: Pusher auth strings, identity/channel JWTs and the channel policy.
//
// Each benchmark runs `scalingFactor` operations per measured iteration, so throughput and mallocs are per
// operation. Inputs (keys, tokens, claims, validated names) are built once outside the measurement, as a running
// server builds them once per app or per request before reaching these calls.
import Benchmark
import Foundation
import UsherCore
import UsherCrypto

/// Shared settings: throughput, allocations and wall clock, a few seconds per benchmark.
func configuration(_ scaling: BenchmarkScalingFactor, seconds: Int = 3) -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .mallocCountTotal, .wallClock],
        scalingFactor: scaling,
        maxDuration: .seconds(seconds),
        maxIterations: 1_000_000
    )
}

/// The fixtures every auth benchmark reads, built on first use.
enum Fixture {
    static let appKey = "278d425bdf160c739803"
    static let appSecret = "7ad3773142a6692b25b8"
    static let socketID = try! SocketID(validating: "123456.7890123")
    static let privateChannel = try! ChannelName(validating: "private-chat-room-42")
    static let presenceChannel = try! ChannelName(validating: "presence-room-42")
    static let authorizer = try! ChannelAuthorizer(appKey: appKey, secret: HMACKey(secret: appSecret))

    /// A 40-byte message: the size of a typical `<socket_id>:<private channel>` auth message.
    static let message40 = "123456.7890123:private-chat-room-4242abc"

    static let hmacSecret = Array("an-hs256-identity-secret-of-32+bytes!!".utf8)
    static let es256Private = try! AsymmetricKey.generate(.p256)
    static let es256Public = try! AsymmetricKey(pem: es256Private.publicKeyPEM())

    static let hs256Key = try! JWTKey.hmac(secret: hmacSecret, kid: "hs-1")
    static let es256SigningKey = try! JWTKey.asymmetric(es256Private, algorithm: .es256, kid: "es-1")
    static let es256VerifyingKey = try! JWTKey.asymmetric(es256Public, algorithm: .es256, kid: "es-1")

    static let verifierConfiguration = JWTVerifier.Configuration(issuer: "https://app.example", audience: appKey)

    /// Channel-token claims as issue "Signing keys" lists them (`iss`, `aud`, `sub`, `channel`, `info`, times, `jti`).
    static let claims: [String: JSONValue] = {
        let now = Int64(Date().timeIntervalSince1970)
        return [
            "iss": .string("https://app.example"),
            "aud": .string(appKey),
            "sub": .string("42"),
            "channel": .string("presence-room-42"),
            "info": .object(["name": .string("Ann")]),
            "iat": .integer(now),
            "nbf": .integer(now),
            "exp": .integer(now + 3600),
            "jti": .string("0f8e4c1a-5b7d-4e2a-9c3f-1d2e3f4a5b6c"),
        ]
    }()

    static let hs256Token = try! JWTSigner(key: hs256Key).sign(claims)
    static let es256Token = try! JWTSigner(key: es256SigningKey).sign(claims)
}

let benchmarks: @Sendable () -> Void = {
    // MARK: Pusher auth strings

    Benchmark("HMAC auth string (authorizePrivate)", configuration: configuration(.kilo)) { benchmark in
        let authorizer = Fixture.authorizer
        let socketID = Fixture.socketID
        let channel = Fixture.privateChannel
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try authorizer.authorizePrivate(socketID: socketID, channel: channel))
        }
    }

    Benchmark("HMAC raw hexMAC (40-byte message)", configuration: configuration(.kilo)) { benchmark in
        let key = HMACKey(secret: Fixture.appSecret)
        let message = Fixture.message40
        precondition(message.utf8.count == 40)
        blackHole(key.hexMAC(message))  // creates this thread's cached context outside the measurement
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(key.hexMAC(message))
        }
    }

    Benchmark("Presence auth string (ChannelData.make + authorizePresence)", configuration: configuration(.kilo)) {
        benchmark in
        let authorizer = Fixture.authorizer
        let socketID = Fixture.socketID
        let channel = Fixture.presenceChannel
        let userInfo = JSONValue.object(["name": .string("Ann")])
        let limits = PresenceLimits()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let channelData = try ChannelData.make(userID: "42", userInfo: userInfo, limits: limits)
            blackHole(try authorizer.authorizePresence(socketID: socketID, channel: channel, channelData: channelData))
        }
    }

    // MARK: JWT

    Benchmark("JWT verify HS256", configuration: configuration(.kilo)) { benchmark in
        let verifier = JWTVerifier(keys: [Fixture.hs256Key], configuration: Fixture.verifierConfiguration)
        let token = Fixture.hs256Token
        let now = Date()
        _ = try verifier.verify(token, now: now)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try verifier.verify(token, now: now))
        }
    }

    Benchmark("JWT verify ES256", configuration: configuration(.kilo)) { benchmark in
        let verifier = JWTVerifier(keys: [Fixture.es256VerifyingKey], configuration: Fixture.verifierConfiguration)
        let token = Fixture.es256Token
        let now = Date()
        _ = try verifier.verify(token, now: now)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try verifier.verify(token, now: now))
        }
    }

    Benchmark("JWT issue HS256", configuration: configuration(.kilo)) { benchmark in
        let signer = try JWTSigner(key: Fixture.hs256Key)
        let claims = Fixture.claims
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try signer.sign(claims))
        }
    }

    Benchmark("JWT issue ES256", configuration: configuration(.kilo)) { benchmark in
        let signer = try JWTSigner(key: Fixture.es256SigningKey)
        let claims = Fixture.claims
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try signer.sign(claims))
        }
    }

    // MARK: Channel policy

    // Five rules with templates, wildcards and claim requirements, in the order an app would write them.
    let rules = [
        ChannelRule(pattern: "private-user-{sub}"),
        ChannelRule(pattern: "private-org-{org}-*"),
        ChannelRule(pattern: "presence-team-{team}-*", require: ["roles": ["member", "admin"]]),
        ChannelRule(pattern: "presence-admin-*", require: ["roles": ["admin"]]),
        ChannelRule(pattern: "private-encrypted-*"),
    ]
    let identity = JWTClaims(payload: [
        "sub": .string("42"),
        "org": .string("acme"),
        "team": .string("blue"),
        "roles": .array([.string("member"), .string("admin")]),
        "exp": .integer(4_102_444_800),
    ])

    Benchmark("Policy match (5 rules, 4th matches)", configuration: configuration(.kilo)) { benchmark in
        let policy = try ChannelPolicy(rules: rules)
        let channel = try ChannelName(validating: "presence-admin-dashboard")
        precondition(policy.decide(channel: channel, claims: identity, userID: "42") == .allow(rule: 3))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try policy.authorize(channel: channel, claims: identity, userID: "42")
        }
    }

    Benchmark("Policy match (5 rules, 1st matches {sub})", configuration: configuration(.kilo)) { benchmark in
        let policy = try ChannelPolicy(rules: rules)
        let channel = try ChannelName(validating: "private-user-42")
        precondition(policy.decide(channel: channel, claims: identity, userID: "42") == .allow(rule: 0))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try policy.authorize(channel: channel, claims: identity, userID: "42")
        }
    }
}
