import AsyncHTTPClient
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
public import ServiceLifecycle
import UsherCore
import UsherNIO

/// Builds the reference relay: a Pusher-protocol WebSocket server on `/app/{key}`, the trigger API on the same
/// port, and the services that keep it in step with Usher (node heartbeat, event stream, keep-alive sweep).
///
/// ```swift
/// var configuration = RelayConfiguration(node: RelayConfiguration.defaultNodeID())
/// configuration.apps = try RelayKeys.loadApps(from: "keys")
/// configuration.relayToken = try RelayKeys.loadToken(from: "keys/relay.token")
/// try await buildRelay(configuration: configuration, logger: Logger(label: "relay")).runService()
/// ```
///
/// - Parameter onServerRunning: Called with the bound port once the server listens (useful with port 0).
/// - Throws: ``RelayError`` when the configuration cannot work (no apps, no relay token).
public func buildRelay(
    configuration: RelayConfiguration, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws(RelayError) -> RelayApplication {
    guard !configuration.apps.isEmpty else { throw .configuration("no apps to serve: the key directory has no apps/*.json") }
    guard !configuration.relayToken.isEmpty else { throw .configuration("no relay token: pass --relay-token-file or USHER_RELAY_TOKEN") }
    let tls: TLSCertificates?
    do {
        tls = try configuration.tls.map { files throws(TLSCertificates.LoadError) in try TLSCertificates(files: files) }
    } catch {
        throw .configuration(error.description)
    }
    let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        // The event stream is long-lived: Usher writes a keep-alive every 15 s, so a minute of silence means it is gone.
        configuration: {
            var client = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(60)))
            // Joins arrive in bursts (a room reconnecting); NIO's default of 8 connections to Usher would queue them.
            client.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
            if let ca = configuration.trustedCAFile {
                var trust = TLSConfiguration.makeClientConfiguration()
                trust.additionalTrustRoots = [.file(ca)]
                client.tlsConfiguration = trust
            }
            return client
        }()
    )
    let metrics = RelayMetrics()
    var usher = UsherAPI(client: client, baseURL: String(configuration.usherURL.trimmingSuffix("/")), token: configuration.relayToken, node: configuration.node)
    usher.metrics = metrics
    let peers = PeerForwarder(
        client: client, peers: configuration.peers.map { String($0.trimmingSuffix("/")) }, token: configuration.relayToken, metrics: metrics,
        drainTimeout: configuration.peerDrainTimeout, logger: logger)
    let batcher = CallBatcher(send: { [usher] ops in
        metrics.batch(ops: ops.count)
        return try await usher.batch(ops)
    })
    let features = AppFeatureTable()
    let reporter = WebhookReporter(features: features, metrics: metrics, logger: logger) { [usher] in try await usher.report($0) }
    let hub = ConnectionHub(cacheMissed: { reporter.cacheMiss(app: $0.app, channel: $0.channel) })
    let services = RelayServices(
        configuration: configuration, hub: hub, usher: usher, batcher: batcher, peers: peers, features: features, reporter: reporter,
        metrics: metrics, logger: logger)

    let router = Router()
    router.add(middleware: RelayErrorMiddleware())
    TriggerController(services: services).register(with: router)
    // `/app/{key}` is matched here rather than by a WebSocket router: hummingbird-websocket's router upgrade stores
    // each request's context in a box that the context itself holds (`context.webSocket.handler`), a cycle that kept
    // ~0.9 KiB per connection alive for the life of the process (logger metadata, path, parameters).
    let shouldUpgrade: @Sendable (HTTPRequest, any Channel, Logger) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> = {
        head, _, _ in
        guard head.method == .get, let key = WebSocketSession.appKey(inTarget: head.path ?? "") else { return .dontUpgrade }
        let request = Request(head: head, body: .init(buffer: .init()))
        return .upgrade([:]) { inbound, outbound, _ in
            try await WebSocketSession.run(inbound: inbound, outbound: outbound, request: request, key: key, services: services)
        }
    }
    let webSocket = WebSocketServerConfiguration(
        maxFrameSize: max(1 << 14, configuration.maxMessageBytes * 2), autoPing: .disabled, closeTimeout: .seconds(5),
        // Text frames that are not UTF-8 close the connection with 1007 (RFC 6455 §8.1).
        validateUTF8: true)
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [
            RequestBodyDeadlineHandler(
                limits: .init(initial: .init(configuration.requestBodyTimeout)), onTimeout: { metrics.connectionFailed("body_timeout") })
        ],
        idleTimeout: .init(configuration.httpIdleTimeout))
    let handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
    let limiter = configuration.newConnectionsPerSecondPerAddress > 0
        ? ConnectionRateLimiter(perSecond: configuration.newConnectionsPerSecondPerAddress) : nil
    var app = Application(
        router: router,
        server: HTTPServerBuilder { responder in
            let channel = GuardedUpgradeChannel(
                upgrade: HTTP1WebSocketUpgradeChannel(
                    responder: responder, configuration: .init(http1: http1, ws: webSocket), shouldUpgrade: shouldUpgrade),
                headTimeout: handshakeTimeout, limiter: limiter, behindTLS: tls != nil, metrics: metrics)
            guard let tls else { return channel }
            return TLSServerChannel(channel, certificates: tls)
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "usher-relay"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        eventLoopGroupProvider: .shared(
            configuration.eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        ),
        logger: logger
    )
    let node = NodeSync(services: services)
    // Services stop in reverse order (the server first), so the HTTP client outlives the ones calling Usher, and the
    // batcher still carries the disconnects of the sockets closed at shutdown.
    if let tls { app.addServices(TLSCertificates.Reloader(certificates: tls, logger: logger)) }
    if let directory = configuration.keysDirectory {
        app.addServices(AppReloader(directory: directory, apps: services.apps, interval: .seconds(1), logger: logger))
    }
    app.addServices(
        HTTPClientService(client: client),
        batcher,
        reporter,
        peers,
        node,
        EventFollower(services: services, node: node),
        LivenessSweeper(hub: services.hub, activityTimeout: configuration.activityTimeout, pongTimeout: configuration.pongTimeout)
    )
    return RelayApplication(
        application: app, closer: ClientCloser(hub: services.hub, batcher: batcher, grace: min(configuration.closeGrace, .seconds(2))), logger: logger)
}

/// The relay as a service: the HTTP/WebSocket application, stopped after every client was told to reconnect.
///
/// On graceful shutdown the clients get close code 4200 ("reconnect now", Pusher's code for a server going away)
/// before the HTTP server begins its own shutdown, whose WebSocket handler would otherwise close them with 1000
/// first (clients then wait before reconnecting, or give up).
public struct RelayApplication: Service {
    let application: any Service
    let closer: ClientCloser
    let logger: Logger

    public func run() async throws {
        // A group stops its services in reverse order: the closer, then the application.
        try await ServiceGroup(configuration: .init(services: [application, closer], logger: logger)).run()
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    public func runService() async throws {
        try await ServiceGroup(
            configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }
}

/// At graceful shutdown, closes every client with 4200 and waits (at most `grace`) for the sessions to end, having
/// told the batcher first (their disconnects stop waiting on an Usher that cannot be reached).
struct ClientCloser: Service {
    let hub: ConnectionHub
    let batcher: CallBatcher
    let grace: Duration

    func run() async throws {
        try? await gracefulShutdown()
        batcher.shutdownBegan()
        for connection in hub.allConnections { connection.close(code: 4200, reason: "Relay restarting") }
        let deadline = ContinuousClock.now + grace
        while hub.connectionCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Shuts the relay's HTTP client down after the other services stopped.
private struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        var text = Substring(self)
        while text.hasSuffix(suffix) { text = text.dropLast(suffix.count) }
        return text
    }
}

/// Hummingbird's HTTP/1.1 + WebSocket upgrade channel with ``RawConnectionGuard`` in front of it.
struct GuardedUpgradeChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let upgrade: HTTP1WebSocketUpgradeChannel
    let headTimeout: TimeAmount
    let limiter: ConnectionRateLimiter?
    let behindTLS: Bool
    let metrics: RelayMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(
                RawConnectionGuard(
                    headTimeout: headTimeout, limiter: limiter, behindTLS: behindTLS,
                    onViolation: { [metrics] in metrics.connectionFailed($0.rawValue) }))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return upgrade.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await upgrade.handle(value: value, logger: logger)
    }
}
