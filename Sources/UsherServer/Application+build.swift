import Foundation
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import AsyncHTTPClient
import NIOPosix
import UsherCore
import UsherNIO
import UsherCrypto
import UsherStore

/// Builds the Usher HTTP application: loads apps and the relay token from the key directory, creates the presence
/// store, then assembles router, middleware, controllers and background services in one place.
///
/// ```swift
/// var configuration = UsherConfiguration()
/// try ConfigurationLoader.load(file: "usher.yaml", into: &configuration)
/// let app = try buildApplication(configuration: configuration, logger: Logger(label: "usher"))
/// try await app.runService()
/// ```
public func buildApplication(configuration: UsherConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    let keys = KeyDirectory(path: configuration.keysDirectory)
    let signing = SigningKeyStore(directory: keys)
    try signing.ensureActiveKey(now: Date())
    let apps = try AppCredentialStore(directory: keys).loadAll()
    let registry = AppRegistryBox(try AppRegistry(apps: apps, configuration: configuration, now: Date()))
    if configuration.dev {
        logger.warning("DEVELOPMENT MODE: anonymous subscribers are allowed and unconfigured apps authorize every channel. Never run --dev in production.")
    }
    let selected = try SelectedStore(configuration: configuration, logger: logger)
    let store = selected.store
    let components = ServerComponents(
        registry: registry, store: store, relayToken: try RelayToken.loadOrCreate(in: keys), metrics: UsherMetrics(),
        signingKeys: SigningKeysBox(try signing.load(now: Date())), storeReady: selected.isReady
    )
    let tls: TLSCertificates?
    do {
        tls = try configuration.tls.map { files throws(TLSCertificates.LoadError) in try TLSCertificates(files: files) }
    } catch {
        throw ServerError.invalidConfiguration(error.description)
    }
    var app = Application(
        router: buildRouter(configuration: configuration, components: components),
        // Idle connections (including half-sent requests) are closed after 30 s; open SSE streams are not idle.
        server: buildHTTPServer(configuration: configuration, components: components, idleTimeout: .seconds(30), tls: tls, logger: logger),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "usher"),
        // A group made for an explicit thread count lives as long as the process (the CLI runs one application).
        eventLoopGroupProvider: .shared(
            configuration.eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        ),
        logger: logger
    )
    // The store's service comes first so it stops last, after the server has drained requests that use it.
    if let service = selected.service { app.addServices(service) }
    if let tls { app.addServices(TLSCertificates.Reloader(certificates: tls, logger: logger)) }
    app.addServices(
        PresenceTicker(store: store, interval: configuration.tickInterval, logger: logger),
        SubscriptionCountPublisher(
            store: store, apps: Set(configuration.apps.filter(\.subscriptionCount).map(\.id)),
            // At least 100 ms between looks: the first change of a channel is still sent "at once" for a person, and
            // a faster presence ticker (tests) does not multiply timer wake-ups.
            interval: configuration.subscriptionCountInterval, tick: max(configuration.tickInterval, .milliseconds(100)), logger: logger),
        KeyReloader(
            configuration: configuration, registry: registry, signingKeys: components.signingKeys, logger: logger,
            relayToken: components.relayToken
        )
    )
    let hooks = configuration.apps.compactMap { settings in settings.webhooks.map { (settings.id, $0) } }
    if !hooks.isEmpty {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let senders = hooks.map { appID, settings in
            WebhookSender(
                appID: appID, settings: settings, store: store, registry: registry, client: client,
                metrics: components.metrics, logger: logger
            )
        }
        app.addServices(WebhookService(senders: senders, client: client))
    }
    return app
}

/// What the router's controllers share.
struct ServerComponents: Sendable {
    let registry: AppRegistryBox
    let store: any PresenceStore
    let relayToken: RelayToken
    let metrics: UsherMetrics
    let signingKeys: SigningKeysBox
    /// Whether the store can serve requests now (`/readyz`).
    var storeReady: @Sendable () -> Bool = { true }
}

/// HTTP/1.1 where `POST /pusher/auth` and the relay's subscribe and batch calls are answered on the event loop
/// (`FastPathHandler`) and everything else goes to the router.
func buildHTTPServer(
    configuration: UsherConfiguration, components: ServerComponents, idleTimeout: Duration?, tls: TLSCertificates? = nil, logger: Logger
) -> HTTPServerBuilder {
    let auth = AuthController(registry: components.registry, configuration: configuration)
    let relay = RelayFastPath(controller: relayController(configuration: configuration, components: components), token: components.relayToken)
    let bodyDeadline = RequestBodyDeadlineHandler.Limits(initial: .init(configuration.requestBodyTimeout))
    return .usherHTTP1(
        idleTimeout: idleTimeout, tls: tls, bodyDeadline: bodyDeadline, onBodyTimeout: { [metrics = components.metrics] in metrics.bodyTimeouts.increment() }
    ) { [metrics = components.metrics] idleTimeout, installHTTP in
        FastPathHandler(auth: auth, relay: relay, metrics: metrics, logger: logger, idleTimeout: idleTimeout, installHTTP: installHTTP)
    }
}

private func relayController(configuration: UsherConfiguration, components: ServerComponents) -> RelayController {
    RelayController(
        registry: components.registry, store: components.store, configuration: configuration,
        tokens: ChannelTokens(settings: configuration.tokens), signingKeys: components.signingKeys
    )
}

func buildRouter(configuration: UsherConfiguration, components: ServerComponents) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: components.metrics))
    // CORS outside the error middleware, so refusals (401/403/400) carry the CORS headers and browsers can read them.
    router.add(middleware: CORSPolicyMiddleware(registry: components.registry))
    router.add(middleware: JSONErrorMiddleware())
    let auth = AuthController(registry: components.registry, configuration: configuration)
    auth.register(with: router)
    TokenController(auth: auth, keys: components.signingKeys, tokens: ChannelTokens(settings: configuration.tokens)).register(with: router)
    HealthController(registry: components.registry, storeReady: components.storeReady).register(with: router)
    MetricsController(metrics: components.metrics, statistics: { [store = components.store] in try await store.statistics() })
        .register(with: router)
    let verifier = APIRequestVerifier(
        registry: components.registry, signature: APIRequestSignature(maxClockSkew: configuration.apiTimestampSkew),
        maxBodyBytes: configuration.maxBodyBytes
    )
    HTTPAPIController(verifier: verifier, store: components.store, channelNameMaxLength: configuration.channelNameMaxLength)
        .register(with: router)
    let relay = router.group("/relay/v1").add(middleware: RelayAuthMiddleware(token: components.relayToken))
    relayController(configuration: configuration, components: components).register(with: relay)
    EventStreamController(store: components.store, keepAlive: configuration.sseKeepAlive, metrics: components.metrics)
        .register(with: relay)
    return router
}

extension ServerComponents {
    /// What tests of the auth endpoints need: a fresh memory store and a random relay token.
    static func forTesting(registry: AppRegistryBox) -> ServerComponents {
        ServerComponents(
            registry: registry, store: MemoryPresenceStore(), relayToken: RelayToken(bytes: Array(Hex.encode(SecureRandom.bytes(count: 32)).utf8)),
            metrics: UsherMetrics(), signingKeys: SigningKeysBox(.empty)
        )
    }
}
