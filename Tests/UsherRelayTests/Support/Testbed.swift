import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing
import UsherCore
import UsherTestSupport
import UsherCrypto
import UsherRelay
import UsherServer

/// The PUSHER-PROTOCOL.md §11 app, and what an app server would sign with.
enum TestApp {
    static let id = "3"
    static let key = "278d425bdf160c739803"
    static let secret = "7ad3773142a6692b25b8"
    static let relayToken = "relay-token-for-relay-tests-0123456789abcdef"
    static let authorizer = try! ChannelAuthorizer(appKey: key, secret: HMACKey(secret: Array(secret.utf8)))

    static func app() throws -> App {
        try App(id: id, key: key, secrets: [AppSecret(id: "s1", secret: secret, created: Date(timeIntervalSince1970: 0))])
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "usher-relay-tests")
        // RELAY_TEST_LOG=debug shows what Usher and the relays do during a test.
        logger.logLevel = ProcessInfo.processInfo.environment["RELAY_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }
}

/// A real Usher (`buildApplication` over a fresh key directory, on a loopback port) and relay nodes against it,
/// all running until the test body returns.
struct Testbed: Sendable {
    let keys: String
    let usher: UsherInstance
    let relayPorts: [Int]

    var usherPort: Int { usher.configuration.port }

    /// Short timings so grace, leases and pings happen within a test's patience (and the few relay settings a test
    /// changes).
    struct Timings: Sendable {
        var graceMillis: Int64 = 200
        var leaseMillis: Int64 = 3000
        var activityTimeout: Duration = .seconds(60)
        var pongTimeout: Duration = .seconds(30)
        var closeGrace: Duration = .seconds(1)
        var maxSubscriptionsPerConnection = 100
        /// The token the relays present to Usher; a wrong one makes Usher answer 401.
        var relayToken = TestApp.relayToken
        /// The test app's `client_events.per_second` in Usher's configuration (nil: not configured, the default).
        var clientEventsPerSecond: Int?
        /// When set, the test app has `subscription_count: true` with this throttle interval.
        var subscriptionCountInterval: Duration?
        /// When set, the test app has a watchlist allowing this many ids.
        var watchlistMaxIDs: Int?
        /// Relays find each other through Usher's heartbeat answers instead of fixed `--peer` lists.
        var discoversPeers = false
        /// The test app's `max_connections` in Usher's configuration (0: none).
        var maxConnections = 0
        /// The relays' limit on new connections per second per client address (0: none).
        var connectionRate = 0
        /// The relays reload the key directory's apps as `usher relay` does (tests that change them).
        var relayReloadsApps = false
        /// The relays' deadline on a connection's first request head.
        var handshakeTimeout: Duration = .seconds(10)
        /// The relays' deadline on a request body (plus a second per 500 bytes).
        var requestBodyTimeout: Duration = .seconds(20)

    }

    /// Starts Usher and `relays` relay nodes (each the others' peer), runs `body`, then stops everything.
    static func run(relays: Int = 1, timings: Timings = Timings(), _ body: @Sendable (Testbed) async throws -> Void) async throws {
        let keys = try makeKeyDirectory()
        defer { try? FileManager.default.removeItem(atPath: keys) }
        var configuration = UsherConfiguration()
        configuration.keysDirectory = keys
        configuration.port = try freePort()
        configuration.presence = .init(graceMillis: timings.graceMillis, leaseMillis: timings.leaseMillis)
        configuration.tickInterval = .milliseconds(20)
        configuration.sseKeepAlive = .seconds(1)
        configuration.keyReloadInterval = .seconds(60)
        if timings.clientEventsPerSecond != nil || timings.subscriptionCountInterval != nil || timings.watchlistMaxIDs != nil
            || timings.maxConnections > 0
        {
            var settings = AppSettings(id: TestApp.id)
            settings.maxConnections = timings.maxConnections
            if let rate = timings.clientEventsPerSecond { settings.clientEventsPerSecond = rate }
            settings.watchlistMaxIDs = timings.watchlistMaxIDs
            if let interval = timings.subscriptionCountInterval {
                settings.subscriptionCount = true
                configuration.subscriptionCountInterval = interval
            }
            configuration.apps = [settings]
        }
        let usher = UsherInstance(configuration: configuration)
        try await usher.start()
        let ports = try (0..<relays).map { _ in try freePort() }
        do {
            // Relays stop as `usher relay` does on SIGTERM: by graceful shutdown (clients get 4200, streams end).
            try await withThrowingTaskGroup(of: Void.self) { group in
                var running: [ServiceGroup] = []
                defer { group.cancelAll() }
                for port in ports {
                    let peers = timings.discoversPeers ? [] : ports.filter { $0 != port }.map { "http://127.0.0.1:\($0)" }
                    let relay = try relayConfiguration(port: port, usherPort: configuration.port, keys: keys, peers: peers, timings: timings)
                    let app = try buildRelay(configuration: relay, logger: TestApp.quietLogger)
                    let service = ServiceGroup(services: [app], logger: TestApp.quietLogger)
                    running.append(service)
                    group.addTask { try await service.run() }
                    try await waitUntilListening(port: port)
                }
                // A relay's event stream starts at the newest event: wait until every relay follows it, so no test
                // races an event logged before its node listened.
                // (Relays given a token Usher refuses never open it.)
                if timings.relayToken == TestApp.relayToken {
                    try await waitForFollowers(usherPort: configuration.port, count: ports.count)
                }
                try await body(Testbed(keys: keys, usher: usher, relayPorts: ports))
                for service in running { await service.triggerGracefulShutdown() }
                try await group.waitForAll()
            }
        } catch {
            await usher.stop()
            throw error
        }
        await usher.stop()
    }

    /// Waits until Usher counts `count` open relay event streams (`usher_sse_consumers`), at most 10 s.
    static func waitForFollowers(usherPort: Int, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(usherPort)/metrics"), timeout: .seconds(5))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            let open = text.split(separator: "\n").first { $0.hasPrefix("usher_sse_consumers ") }.flatMap { Double($0.dropFirst(20)) }
            if let open, Int(open) >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestbedError("the relays did not open Usher's event stream within 10 s")
    }

    /// A relay node's configuration as the testbed runs it: heartbeats every 500 ms, announcing its forward URL.
    static func relayConfiguration(port: Int, usherPort: Int, keys: String, peers: [String], timings: Timings) throws -> RelayConfiguration {
        var relay = RelayConfiguration(node: try NodeID(validating: "test-relay-\(port)"))
        relay.port = port
        relay.usherURL = "http://127.0.0.1:\(usherPort)"
        relay.relayToken = timings.relayToken
        relay.apps = try RelayKeys.loadApps(from: keys)
        relay.peers = peers
        relay.forwardURL = "http://127.0.0.1:\(port)"
        relay.activityTimeout = timings.activityTimeout
        relay.pongTimeout = timings.pongTimeout
        relay.closeGrace = timings.closeGrace
        relay.maxSubscriptionsPerConnection = timings.maxSubscriptionsPerConnection
        relay.heartbeatInterval = .milliseconds(500)
        relay.handshakeTimeout = timings.handshakeTimeout
        if timings.relayReloadsApps { relay.keysDirectory = keys }
        relay.newConnectionsPerSecondPerAddress = timings.connectionRate
        relay.requestBodyTimeout = timings.requestBodyTimeout
        return relay
    }

    /// Waits for `task`; cancels it when it is still running after `limit`, so a stuck shutdown fails no test by hanging.
    static func cancel(_ task: Task<Void, any Error>, unlessDoneWithin limit: Duration) async {
        let watchdog = Task {
            try await Task.sleep(for: limit)
            task.cancel()
        }
        _ = await task.result
        watchdog.cancel()
    }

    /// A key directory holding the test app and the relay token, with the modes Usher insists on.
    static func makeKeyDirectory() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("usher-relay-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/apps", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root)
        let encoder = JSONEncoder()
        try write(encoder.encode(try TestApp.app().record), to: root + "/apps/\(TestApp.id).json")
        try write(Data((TestApp.relayToken + "\n").utf8), to: root + "/relay.token")
        return root
    }

    private static func write(_ data: Data, to path: String) throws {
        try data.write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// A loopback port nothing listens on (``TestPorts/free()``).
    static func freePort() throws -> Int {
        try TestPorts.free()
    }

    /// Polls until something accepts TCP connections on `port` (at most 10 s).
    static func waitUntilListening(port: Int) async throws {
        for _ in 0..<200 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestbedError("nothing listens on port \(port)")
    }

    /// Usher's relay API, for checking what Usher holds.
    func usherGET(_ path: String) async throws -> JSONValue? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(usherPort)\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(TestApp.relayToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        return try? JSONValue.parse(bytes: Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// How many requests Usher answered on routes ending in `route` (from its `/metrics`), e.g. `/batch`.
    func usherRequests(route: String) async throws -> Int {
        try await usherMetric("usher_http_requests_total", labelsContaining: route + "\"")
    }

    /// The sum of an Usher metric over the label sets containing `labelsContaining` (from its `/metrics`).
    func usherMetric(_ name: String, labelsContaining filter: String = "") async throws -> Int {
        try await Self.metric(port: usherPort, name, labelsContaining: filter)
    }

    /// The sum of a metric over the label sets containing `labelsContaining`, from `/metrics` on `port` (Usher's or
    /// a relay's).
    static func metric(port: Int, _ name: String, labelsContaining filter: String = "") async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
        return text.split(separator: "\n").filter { ($0.hasPrefix(name + "{") || $0.hasPrefix(name + " ")) && $0.contains(filter) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0) { $0 + Int($1) }
    }

    /// `POST /apps/{id}/events` (or another path) on relay `node` (or any `port`), signed as the Pusher SDKs sign it.
    func trigger(
        node: Int = 0, port: Int? = nil, path: String = "/apps/\(TestApp.id)/events", body: String, secret: String = TestApp.secret
    ) async throws -> (Int, String) {
        let query = [
            "auth_key": TestApp.key, "auth_timestamp": String(Int(Date().timeIntervalSince1970)), "auth_version": "1.0",
            "body_md5": Hex.encode(MD5.hash(Array(body.utf8))),
        ]
        let toSign = APIRequestSignature.stringToSign(method: "POST", path: path, params: query)
        let signature = HMACKey(secret: Array(secret.utf8)).hexMAC(toSign)
        let text = query.keys.sorted().map { "\($0)=\(query[$0]!)" }.joined(separator: "&") + "&auth_signature=" + signature
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port ?? relayPorts[node])\(path)?\(text)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// A signed `GET` on a relay's HTTP API (e.g. `/apps/{id}/channels/{channel}` with `info`), as the SDKs send it.
    func query(node: Int = 0, path: String, info: String? = nil) async throws -> (Int, JSONValue?) {
        var query = ["auth_key": TestApp.key, "auth_timestamp": String(Int(Date().timeIntervalSince1970)), "auth_version": "1.0"]
        if let info { query["info"] = info }
        let toSign = APIRequestSignature.stringToSign(method: "GET", path: path, params: query)
        let signature = HMACKey(secret: Array(TestApp.secret.utf8)).hexMAC(toSign)
        let text = query.keys.sorted().map { "\($0)=\(query[$0]!)" }.joined(separator: "&") + "&auth_signature=" + signature
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(relayPorts[node])\(path)?\(text)"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), try? JSONValue.parse(bytes: Array(buffer: body)))
    }
}

/// One Usher application that a test can stop and start again on the same port and keys (a restart: the memory
/// store, its epoch and its event log start over).
final class UsherInstance: Sendable {
    let configuration: UsherConfiguration
    private let running = Mutex<(ServiceGroup, Task<Void, any Error>)?>(nil)

    init(configuration: UsherConfiguration) {
        self.configuration = configuration
    }

    func start() async throws {
        let app = try buildApplication(configuration: configuration, logger: TestApp.quietLogger)
        let service = ServiceGroup(services: [app], logger: TestApp.quietLogger)
        running.withLock { $0 = (service, Task { try await service.run() }) }
        try await Testbed.waitUntilListening(port: configuration.port)
    }

    /// Graceful shutdown, as on SIGTERM.
    func stop() async {
        guard let (service, task) = running.withLock({ running in
            defer { running = nil }
            return running
        }) else { return }
        await service.triggerGracefulShutdown()
        await Testbed.cancel(task, unlessDoneWithin: .seconds(5))
    }
}

struct TestbedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
