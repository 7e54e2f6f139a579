import Logging
import ServiceLifecycle
import Synchronization

/// The node heartbeat: `PUT /relay/v1/nodes/{node}` every interval, and a full `PUT …/sockets` snapshot whenever
/// Usher's epoch changes, it asks for a resync (it restarted and lost this node's sockets), or the relay asked for one
/// (``RelayServices/requestResync()``: a call to Usher failed and the two may disagree).
///
/// The first heartbeat always resyncs, which also clears what a previous run under the same node id left behind.
final class NodeSync: Service, Sendable {
    private let services: RelayServices
    private let epoch = Mutex<String?>(nil)

    init(services: RelayServices) {
        self.services = services
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await sync()
            try? await gracefulSleep(services.configuration.heartbeatInterval)
        }
    }

    /// One heartbeat, followed by a snapshot when needed. Returns whether Usher is reachable.
    @discardableResult
    func sync() async -> Bool {
        let usher = services.usher
        do {
            let lease = try await usher.heartbeat(forwardURL: services.configuration.forwardURL, connections: services.hub.connectionsPerApp)
            services.features.update(lease.apps)
            services.features.update(connectionsElsewhere: lease.connections)
            services.peers.update(discovered: lease.peers.filter { $0 != services.configuration.forwardURL })
            let requested = services.resyncRequested.take()
            let known = epoch.withLock { $0 }
            // A new epoch is a restarted Usher: its event log started over, and the node's member lists missed that.
            if let known, lease.epoch != known { services.hub.distrustMemberLists() }
            guard requested || lease.resync || lease.epoch != known else { return true }
            let (after, count): (UsherAPI.Lease, Int)
            do {
                (after, count) = try await services.gate.resync {
                    let snapshot = services.hub.snapshot()
                    return (try await usher.replaceSockets(snapshot), snapshot.count)
                }
            } catch {
                if requested { services.requestResync() }
                throw error
            }
            epoch.withLock { $0 = after.epoch }
            services.logger.info("node resynced with usher", metadata: ["usher.node": "\(usher.node)", "usher.subscriptions": "\(count)"])
            return true
        } catch {
            services.logger.warning("node heartbeat failed", metadata: ["usher.node": "\(usher.node)", "usher.error": "\(error)"])
            return false
        }
    }
}

