import Synchronization
import UsherCore

/// What the connection's writer task does next.
enum Outbound: Sendable {
    case text(String)
    case close(code: Int, reason: String)
}

/// One client WebSocket: its socket id and app, and a bounded outbox drained in order by the connection's writer.
///
/// Anyone (the reader, the event stream, the trigger API) may `send`; a client too slow to take
/// ``RelayConfiguration/outboxLimit`` queued frames is closed with 4100 instead of growing memory without bound.
final class RelayConnection: Sendable {
    struct State {
        var lastActivity: ContinuousClock.Instant
        var pingSentAt: ContinuousClock.Instant?
        var signedInUser: String?
        var overflowed = false
        var closed = false
    }

    let socketID: SocketID
    let app: App
    let outbox: AsyncStream<Outbound>
    private let continuation: AsyncStream<Outbound>.Continuation
    private let state: Mutex<State>
    /// Set once a subscription or sign-in was sent to Usher; only then is the close reported to it.
    let knownToUsher = Mutex(false)

    init(socketID: SocketID, app: App, outboxLimit: Int) {
        self.socketID = socketID
        self.app = app
        (outbox, continuation) = AsyncStream.makeStream(of: Outbound.self, bufferingPolicy: .bufferingOldest(outboxLimit))
        state = Mutex(State(lastActivity: .now))
    }

    /// Queues a text frame; never blocks.
    func send(_ frame: String) {
        if case .dropped = continuation.yield(.text(frame)) {
            state.withLock { $0.overflowed = true }
            continuation.finish()
        }
    }

    /// Queues a close with a Pusher close code; later frames are not sent.
    func close(code: Int, reason: String) {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        continuation.yield(.close(code: code, reason: reason))
        continuation.finish()
    }

    /// Whether the outbox overflowed (the writer then closes with 4100).
    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// The user this socket signed in as with `pusher:signin`.
    var signedInUser: String? {
        get { state.withLock { $0.signedInUser } }
        set { state.withLock { $0.signedInUser = newValue } }
    }

    /// Records that the client sent something: it is alive, any outstanding ping is answered.
    func touch() {
        state.withLock { state in
            state.lastActivity = .now
            state.pingSentAt = nil
        }
    }

    /// What an idle check should do at `now`.
    enum Liveness {
        case alive, ping, timedOut
    }

    /// Decides, and records, whether to ping (silent for `activityTimeout`) or give up (no pong within `pongTimeout`).
    func checkLiveness(now: ContinuousClock.Instant, activityTimeout: Duration, pongTimeout: Duration) -> Liveness {
        state.withLock { state in
            if let sent = state.pingSentAt {
                return now - sent >= pongTimeout ? .timedOut : .alive
            }
            guard now - state.lastActivity >= activityTimeout else { return .alive }
            state.pingSentAt = now
            return .ping
        }
    }
}

extension RelayConnection {
    /// Notes that Usher may hold state for this socket, so its close must be reported.
    func markKnownToUsher() {
        knownToUsher.withLock { $0 = true }
    }
}
