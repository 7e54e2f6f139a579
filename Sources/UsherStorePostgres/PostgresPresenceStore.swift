public import Logging
import PostgresNIO
public import ServiceLifecycle
import Synchronization
public import UsherCore

/// Presence state and the event log in PostgreSQL, shared by every `usher serve` instance pointed at one database.
///
/// Security: the configuration holds the database password; it is never logged (``Configuration/redactedURL`` is).
///
/// Every mutation runs in one transaction that first takes a transaction-scoped advisory lock, so the rules of Core's
/// registry apply to rows that no other instance can change meanwhile, and events get their sequence numbers in commit
/// order: a reader that sees event N has seen every event before it. Run the store as a service (it owns the
/// connection pool, migrates the schema and listens for other instances' events):
///
/// ```swift
/// let store = PostgresPresenceStore(configuration: try .init(url: url), logger: logger)
/// app.addServices(store)              // first, so it stops last
/// ```
public final class PostgresPresenceStore: PresenceStore, Service {
    /// Whether the database answers, as the LISTEN loop last saw it.
    public enum Health: Sendable, Hashable {
        /// Not connected yet: calls wait up to the operation timeout for the first connection.
        case starting
        /// Connected and listening: calls go through.
        case up
        /// The last connection failed: calls fail at once with ``PostgresStoreError/unavailable`` until it is back.
        case down
    }

    /// The write lock's advisory key (`"usher_wr"` as bytes).
    static let writeLockKey: Int64 = 0x7573_6865_725F_7772
    /// The database's wall clock in milliseconds: one clock for every instance, so leases and graces agree.
    static let databaseClock = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
    /// The NOTIFY channel carrying the newest committed sequence number.
    static let notifyChannel = "usher_events"

    let configuration: Configuration
    let client: PostgresClient
    let logger: Logger
    let notifier = SequenceSignal()
    /// The newest sequence the last probe read; a lower reading means the database went back (restored, replaced).
    let probed = Mutex<UInt64?>(nil)
    /// Milliseconds to use instead of the database clock (tests); nil in production.
    let now: (@Sendable () -> Int64)?
    private let state = Mutex<(health: Health, epoch: String)>((.starting, ""))
    /// Groups concurrent writes into one transaction each. A group holds the deployment's write lock for its whole
    /// transaction, so groups stay small enough (256 writes, or one larger batch) that a lone join never waits long.
    let commit = GroupCommit<PresenceWrite, PresenceWriteResult>(maxWrites: 256)
    /// The member lists this instance's groups answered, kept between groups (see ``RosterCache``).
    let rosters = Mutex(RosterCache())
    /// Channels whose subscription count this instance's committed transactions changed, until taken.
    let countChanges = Mutex<Set<AppChannel>>([])

    /// - Parameters:
    ///   - configuration: Database, pool size, retention and timing.
    ///   - logger: Background and error logging (never sees the password).
    ///   - now: Milliseconds for tests to control time; by default the database's clock, shared by all instances.
    public init(configuration: Configuration, logger: Logger, now: (@Sendable () -> Int64)? = nil) {
        var connection = configuration.connection
        connection.options.maximumConnections = max(configuration.poolSize, 1) + 1
        self.configuration = configuration
        self.client = PostgresClient(configuration: connection, backgroundLogger: logger)
        self.logger = logger
        self.now = now
    }

    /// The database's epoch, fixed when the schema was created: it survives Usher restarts, so relays resync only
    /// when the database itself is new. Empty until the store first connected.
    public var epoch: String { state.withLock { $0.epoch } }

    /// Whether the database answers now; `/readyz` reports this.
    public var health: Health { state.withLock { $0.health } }

    /// Runs the connection pool and the LISTEN loop until graceful shutdown.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            group.addTask { await self.listen() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    func setHealth(_ health: Health) {
        let previous = state.withLock { state in
            defer { state.health = health }
            return state.health
        }
        guard previous != health else { return }
        if health == .down {
            logger.warning("presence database unavailable", metadata: ["usher.store": "\(configuration.redactedURL)"])
        } else if health == .up {
            logger.info("presence database available", metadata: ["usher.store": "\(configuration.redactedURL)"])
        }
    }

    func setEpoch(_ epoch: String) {
        state.withLock { $0.epoch = epoch }
    }
}
