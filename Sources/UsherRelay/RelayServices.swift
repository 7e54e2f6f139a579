import Logging
import UsherCore

/// What every part of a running relay shares.
struct RelayServices: Sendable {
    let configuration: RelayConfiguration
    let hub: ConnectionHub
    let usher: UsherAPI
    let peers: PeerForwarder
    /// Orders node snapshots against subscriptions in flight.
    let gate = ResyncGate()
    let appsByKey: [String: App]
    let appsByID: [String: App]
    let logger: Logger

    init(configuration: RelayConfiguration, hub: ConnectionHub, usher: UsherAPI, peers: PeerForwarder, logger: Logger) {
        self.configuration = configuration
        self.hub = hub
        self.usher = usher
        self.peers = peers
        self.logger = logger
        appsByKey = Dictionary(configuration.apps.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        appsByID = Dictionary(configuration.apps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Delivers `frame` to this node's subscribers of each channel and forwards it to the peer nodes.
    func publish(app: String, channels: [String], frame: String, exceptSocket: String?) async {
        for channel in channels {
            hub.deliver(frame, to: ChannelKey(app: app, channel: channel), exceptSocket: exceptSocket)
        }
        await peers.forward(app: app, channels: channels, frame: frame, exceptSocket: exceptSocket)
    }
}
