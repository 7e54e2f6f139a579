import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import UsherCore
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
        logger.logLevel = .critical
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

    /// Short timings so grace, leases and pings happen within a test's patience.
    struct Timings: Sendable {
        var graceMillis: Int64 = 200
        var leaseMillis: Int64 = 3000
        var activityTimeout: Duration = .seconds(60)
        var pongTimeout: Duration = .seconds(30)
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
        let usher = UsherInstance(configuration: configuration)
        try await usher.start()
        let ports = try (0..<relays).map { _ in try freePort() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for port in ports {
                    var relay = RelayConfiguration(node: try NodeID(validating: "test-relay-\(port)"))
                    relay.port = port
                    relay.usherURL = "http://127.0.0.1:\(configuration.port)"
                    relay.relayToken = TestApp.relayToken
                    relay.apps = try RelayKeys.loadApps(from: keys)
                    relay.peers = ports.filter { $0 != port }.map { "http://127.0.0.1:\($0)" }
                    relay.activityTimeout = timings.activityTimeout
                    relay.pongTimeout = timings.pongTimeout
                    relay.heartbeatInterval = .milliseconds(500)
                    let app = try buildRelay(configuration: relay, logger: TestApp.quietLogger)
                    group.addTask { try await app.run() }
                    try await waitUntilListening(port: port)
                }
                try await body(Testbed(keys: keys, usher: usher, relayPorts: ports))
                group.cancelAll()
            }
        } catch {
            await usher.stop()
            throw error
        }
        await usher.stop()
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

    /// A port nothing listens on right now. Ports come from a counter over a random range, so tests running in
    /// parallel never pick the same one (ports the OS hands out for 0 can repeat between two quick binds).
    static func freePort() throws -> Int {
        while true {
            let port = nextPort.wrappingAdd(1, ordering: .relaxed).oldValue
            guard port < 60_000 else { throw TestbedError("ran out of test ports") }
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).wait() {
                try? channel.close().wait()
                return port
            }
        }
    }

    private static let nextPort = Atomic<Int>(Int.random(in: 30_000..<50_000))

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
}

/// One Usher application that a test can stop and start again on the same port and keys (a restart: the memory
/// store, its epoch and its event log start over).
final class UsherInstance: Sendable {
    let configuration: UsherConfiguration
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(configuration: UsherConfiguration) {
        self.configuration = configuration
    }

    func start() async throws {
        let app = try buildApplication(configuration: configuration, logger: TestApp.quietLogger)
        task.withLock { $0 = Task { try await app.run() } }
        try await Testbed.waitUntilListening(port: configuration.port)
    }

    func stop() async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        _ = await running?.result
    }
}

struct TestbedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
