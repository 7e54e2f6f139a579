import Foundation
public import Hummingbird
public import Logging
import NIOCore
import NIOPosix
import UsherCore

/// Builds the Usher HTTP application: loads apps from the key directory, then assembles router, middleware and
/// controllers in one place.
///
/// ```swift
/// var configuration = UsherConfiguration()
/// try ConfigurationLoader.load(file: "usher.yaml", into: &configuration)
/// let app = try buildApplication(configuration: configuration, logger: Logger(label: "usher"))
/// try await app.runService()
/// ```
public func buildApplication(configuration: UsherConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    let apps = try AppCredentialStore(directory: KeyDirectory(path: configuration.keysDirectory)).loadAll()
    let registry = AppRegistryBox(try AppRegistry(apps: apps, configuration: configuration, now: Date()))
    if configuration.dev {
        logger.warning("DEVELOPMENT MODE: anonymous subscribers are allowed and unconfigured apps authorize every channel. Never run --dev in production.")
    }
    let router = buildRouter(configuration: configuration, registry: registry)
    return Application(
        router: router,
        // Idle connections (including half-sent requests) are closed after 30 s; open SSE streams are not idle.
        server: .http1(configuration: .init(idleTimeout: .seconds(30))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "usher"),
        // A group made for an explicit thread count lives as long as the process (the CLI runs one application).
        eventLoopGroupProvider: .shared(
            configuration.eventLoopThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        ),
        logger: logger
    )
}

func buildRouter(configuration: UsherConfiguration, registry: AppRegistryBox) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    // CORS outermost, so refusals (401/403/400) carry the CORS headers too and browsers can read them.
    router.add(middleware: CORSPolicyMiddleware(registry: registry))
    router.add(middleware: JSONErrorMiddleware())
    AuthController(registry: registry, configuration: configuration).register(with: router)
    HealthController(registry: registry).register(with: router)
    return router
}
