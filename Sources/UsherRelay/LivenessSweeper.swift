import ServiceLifecycle

/// Pusher keep-alive from the server side: a client silent for the activity timeout gets `pusher:ping`; one that
/// does not answer within the pong timeout is closed with 4201 (clients reconnect). One sweep covers all sockets.
struct LivenessSweeper: Service {
    let hub: ConnectionHub
    let activityTimeout: Duration
    let pongTimeout: Duration

    /// Sweep often enough to act within a quarter of the shorter timeout, and at most every second.
    var interval: Duration { max(.milliseconds(50), min(.seconds(1), min(activityTimeout, pongTimeout) / 4)) }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            sweep(now: .now)
            try? await gracefulSleep(interval)
        }
    }

    func sweep(now: ContinuousClock.Instant) {
        for connection in hub.allConnections {
            switch connection.checkLiveness(now: now, activityTimeout: activityTimeout, pongTimeout: pongTimeout) {
            case .alive: break
            case .ping: connection.send(PusherFrame.ping)
            case .timedOut: connection.close(code: 4201, reason: "Pong reply not received")
            }
        }
    }
}
