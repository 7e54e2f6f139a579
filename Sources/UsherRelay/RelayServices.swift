import Logging
import Synchronization
import UsherCore

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
    let appsByKey: [String: App]
    let appsByID: [String: App]
    let logger: Logger
    /// Per-app features from Usher's latest node lease; defaults until the first heartbeat.
    let features = AppFeatureTable()

    init(
        configuration: RelayConfiguration, hub: ConnectionHub, usher: UsherAPI, batcher: CallBatcher, peers: PeerForwarder, logger: Logger
    ) {
        self.configuration = configuration
        self.hub = hub
        self.usher = usher
        self.batcher = batcher
        self.peers = peers
        self.logger = logger
        appsByKey = Dictionary(configuration.apps.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        appsByID = Dictionary(configuration.apps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Asks the node heartbeat to send a full snapshot next time, because Usher may hold something the hub does not
    /// (a DELETE that failed, a subscribe that timed out here but may have succeeded there) or the reverse.
    func requestResync() {
        resyncRequested.request()
    }

    /// Delivers `frame` to this node's subscribers of each channel and forwards it to the peer nodes.
    func publish(app: String, channels: [String], frame: String, exceptSocket: String?) {
        for channel in channels {
            hub.deliver(frame, to: ChannelKey(app: app, channel: channel), exceptSocket: exceptSocket)
        }
        peers.forward(app: app, channels: channels, frame: frame, exceptSocket: exceptSocket)
    }
}

/// The per-app features of the latest node lease, read on every client event.
final class AppFeatureTable: Sendable {
    private let table = Mutex<[String: AppFeatures]>([:])

    func update(_ features: [String: AppFeatures]) {
        table.withLock { $0 = features }
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
