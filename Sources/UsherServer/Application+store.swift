import Logging
import ServiceLifecycle
import UsherCore
import UsherStore
import UsherStorePostgres

/// The presence store `usher serve` runs with, the service that keeps it connected (Postgres only), and whether it
/// can serve requests now (for `/readyz`).
struct SelectedStore: Sendable {
    let store: any PresenceStore
    let service: (any Service)?
    let isReady: @Sendable () -> Bool

    private init(store: any PresenceStore, service: (any Service)?, isReady: @escaping @Sendable () -> Bool) {
        self.store = store
        self.service = service
        self.isReady = isReady
    }

    /// The memory store by default; the Postgres store when `configuration.store.url` is set.
    ///
    /// - Throws: ``ServerError/invalidConfiguration(_:)`` for a malformed URL (the message never repeats it).
    init(configuration: UsherConfiguration, logger: Logger) throws(ServerError) {
        guard let settings = try Self.postgresSettings(configuration) else {
            let memory = MemoryPresenceStore(
                configuration: configuration.presence, logCapacity: configuration.eventLogCapacity)
            self.init(store: memory, service: nil, isReady: { true })
            return
        }
        logger.info("presence store: PostgreSQL", metadata: ["usher.store": "\(settings.redactedURL)"])
        let postgres = PostgresPresenceStore(configuration: settings, logger: logger)
        self.init(store: postgres, service: postgres, isReady: { postgres.health == .up })
    }

    /// The PostgreSQL store's settings when `configuration.store.url` is set (nil for the memory store).
    ///
    /// - Throws: ``ServerError/invalidConfiguration(_:)`` for a malformed URL (the message never repeats it).
    static func postgresSettings(_ configuration: UsherConfiguration) throws(ServerError) -> PostgresPresenceStore.Configuration? {
        guard let url = configuration.store.url else { return nil }
        var settings: PostgresPresenceStore.Configuration
        do {
            settings = try PostgresPresenceStore.Configuration(url: url)
        } catch {
            throw .invalidConfiguration("store: \(error.description)")
        }
        settings.poolSize = configuration.store.poolSize
        settings.retainedEvents = Int64(configuration.store.retainedEvents)
        settings.operationTimeout = configuration.store.timeout
        settings.presence = configuration.presence
        return settings
    }
}
