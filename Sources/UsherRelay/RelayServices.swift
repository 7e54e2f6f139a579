import Foundation
import Logging
import Synchronization
import UsherCore
import UsherCrypto

/// What every part of a running relay shares.
struct RelayServices: Sendable {
    let configuration: RelayConfiguration
    let hub: ConnectionHub
    let usher: UsherAPI
    /// Carries joins, leaves and disconnects to Usher in batches; runs as a service.
    let batcher: CallBatcher
    let peers: PeerForwarder
    /// Orders node snapshots against subscription changes in flight.
    let gate = ResyncGate()
    /// Set when a call to Usher failed or its outcome is unknown: the next heartbeat sends a full snapshot.
    let resyncRequested = ResyncRequest()
    /// The apps served, reloaded when the key directory changes (``AppReloader``).
    let apps: AppTable
    let logger: Logger
    /// Per-app features from Usher's latest node lease; defaults until the first heartbeat.
    let features: AppFeatureTable
    /// Client events and cache misses for the apps' webhooks.
    let reporter: WebhookReporter
    /// `GET /metrics`.
    let metrics: RelayMetrics
    /// Signed-in connections' watchlists (online status).
    let watchlists = Watchlists()
    /// Paces the warnings about failed calls to Usher, one per socket otherwise (``warnUsherFailure(_:metadata:)``).
    let usherFailureLog = LogPacer()

    init(
        configuration: RelayConfiguration, hub: ConnectionHub, usher: UsherAPI, batcher: CallBatcher, peers: PeerForwarder,
        features: AppFeatureTable = AppFeatureTable(), reporter: WebhookReporter? = nil, metrics: RelayMetrics = RelayMetrics(),
        logger: Logger
    ) {
        self.features = features
        self.metrics = metrics
        self.reporter = reporter ?? WebhookReporter(features: features, metrics: metrics, logger: logger) { [usher] in try await usher.report($0) }
        self.configuration = configuration
        self.hub = hub
        self.usher = usher
        self.batcher = batcher
        self.peers = peers
        self.logger = logger
        apps = AppTable(configuration.apps)
    }

    /// Asks the node heartbeat to send a full snapshot next time, because Usher may hold something the hub does not
    /// (a DELETE that failed, a subscribe that timed out here but may have succeeded there) or the reverse.
    func requestResync() {
        resyncRequested.request()
    }

    /// Logs a failed or refused call to Usher at most once per ten seconds per message, with `usher.occurrences`: when
    /// Usher is down or overloaded every socket's call fails, and one line each would flood the log.
    func warnUsherFailure(_ message: Logger.Message, metadata: Logger.Metadata) {
        guard let occurrences = usherFailureLog.note(message.description) else { return }
        var metadata = metadata
        metadata["usher.occurrences"] = "\(occurrences)"
        logger.warning(message, metadata: metadata)
    }

    /// Delivers `frame` to this node's subscribers of each channel and forwards it to the peer nodes. A
    /// server-triggered event (`triggered`: its name and data) is also kept by cache channels, here and on the peers.
    func publish(app: String, channels: [String], frame: String, exceptSocket: String?, triggered: TriggeredEvent? = nil) {
        for channel in channels {
            deliver(frame, to: ChannelKey(app: app, channel: channel), exceptSocket: exceptSocket, triggered: triggered)
        }
        peers.forward(app: app, channels: channels, frame: frame, exceptSocket: exceptSocket, triggered: triggered)
    }

    /// Delivers to this node's subscribers only (a frame published here, or forwarded by a peer).
    func deliver(_ frame: String, to key: ChannelKey, exceptSocket: String?, triggered: TriggeredEvent?) {
        if let triggered {
            hub.deliverTriggered(frame, event: triggered, to: key, exceptSocket: exceptSocket, ttl: configuration.cacheTTL)
        } else {
            hub.deliver(frame, to: key, exceptSocket: exceptSocket)
        }
    }
}

/// An event an app server triggered (trigger API), which cache channels keep: its name, its data as sent, and when
/// the node that received it published it (Unix milliseconds).
struct TriggeredEvent: Sendable {
    let name: String
    let data: String
    var published = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))

    /// As peers forward it: `{"name","data","published"}`.
    var json: JSONValue { .object(["name": .string(name), "data": .string(data), "published": .integer(published)]) }

    init(name: String, data: String) {
        self.name = name
        self.data = data
    }

    init?(json: JSONValue?) {
        guard let name = json?["name"]?.stringValue, let data = json?["data"]?.stringValue, case .integer(let published)? = json?["published"] else {
            return nil
        }
        self.name = name
        self.data = data
        self.published = published
    }
}

/// The per-app features of the latest node lease, read on every client event.
final class AppFeatureTable: Sendable {
    private let table = Mutex<[String: AppFeatures]>([:])
    /// Client connections per app on the other nodes, as Usher last reported them.
    private let elsewhere = Mutex<[String: Int]>([:])

    func update(_ features: [String: AppFeatures]) {
        table.withLock { $0 = features }
    }

    func update(connectionsElsewhere counts: [String: Int]) {
        elsewhere.withLock { $0 = counts }
    }

    func connectionsElsewhere(app: String) -> Int {
        elsewhere.withLock { $0[app] ?? 0 }
    }

    subscript(app: String) -> AppFeatures {
        table.withLock { $0[app] } ?? AppFeatures()
    }
}

/// A "the node is dirty" flag the heartbeat consumes.
final class ResyncRequest: Sendable {
    private let flag = Atomic(false)

    func request() { flag.store(true, ordering: .sequentiallyConsistent) }

    /// Whether a resync was requested since the last call; clears the request.
    func take() -> Bool { flag.exchange(false, ordering: .sequentiallyConsistent) }

    /// Whether a resync is requested and not yet taken.
    var isRequested: Bool { flag.load(ordering: .sequentiallyConsistent) }
}
