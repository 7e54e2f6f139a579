import Synchronization
import UsherCore

/// One client WebSocket: its socket id and app, and a bounded outbox drained in order by the connection's writer.
///
/// Anyone (the reader, the event stream, the trigger API) may `send`; a client too slow to take
/// ``RelayConfiguration/outboxLimit`` queued frames, or ``RelayConfiguration/outboxByteLimit`` queued bytes, is closed
/// with 4100 instead of growing memory without bound: a slow reader loses its own connection, and nobody else's.
///
/// A close is recorded here, not queued: a full outbox cannot drop it, and the reader sees ``isClosed`` and stops
/// acting on what the client sends (a client ignoring the close must not keep using the socket).
final class RelayConnection: Sendable {
    struct State {
        var lastActivity: ContinuousClock.Instant
        var pingSentAt: ContinuousClock.Instant?
        var signedInUser: String?
        var overflowed = false
        /// The close the writer sends once the queued frames are out; set once.
        var close: (code: Int, reason: String)?
        /// Client events this connection may still send now (a token bucket refilled at the app's rate per second).
        var clientEventTokens: Double?
        var clientEventsCountedAt: ContinuousClock.Instant = .now
    }

    let socketID: SocketID
    let app: App
    /// Text frames in order; finishes when the connection is closed (the writer then sends ``closeFrame``).
    let outbox: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    /// Finishes when the connection is closed (for the session's close watchdog).
    let closed: AsyncStream<Never>
    private let closedContinuation: AsyncStream<Never>.Continuation
    private let state: Mutex<State>
    /// UTF-8 bytes of the frames queued and not yet taken by the writer.
    private let queuedBytes = Atomic<Int>(0)
    private let byteLimit: Int
    /// Set once a subscription or sign-in was sent to Usher; only then is the close reported to it.
    let knownToUsher = Mutex(false)

    init(socketID: SocketID, app: App, outboxLimit: Int, outboxByteLimit: Int = 1 << 20) {
        self.socketID = socketID
        self.app = app
        byteLimit = outboxByteLimit
        (outbox, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(outboxLimit))
        (closed, closedContinuation) = AsyncStream.makeStream(of: Never.self)
        state = Mutex(State(lastActivity: .now))
    }

    /// Queues a text frame; never blocks. Frames sent after the close are dropped.
    func send(_ frame: String) {
        let size = frame.utf8.count
        guard queuedBytes.add(size, ordering: .relaxed).newValue <= byteLimit else {
            queuedBytes.subtract(size, ordering: .relaxed)
            return overflow()
        }
        switch continuation.yield(frame) {
        case .enqueued: break
        case .dropped:
            queuedBytes.subtract(size, ordering: .relaxed)
            overflow()
        default:
            queuedBytes.subtract(size, ordering: .relaxed)
        }
    }

    /// The writer took `frame` from the outbox.
    func took(_ frame: String) {
        queuedBytes.subtract(frame.utf8.count, ordering: .relaxed)
    }

    /// Bytes queued for the writer (for tests).
    var queuedByteCount: Int { queuedBytes.load(ordering: .relaxed) }

    private func overflow() {
        state.withLock { $0.overflowed = true }
        close(code: 4100, reason: "Over capacity: client too slow")
    }

    /// Closes with a Pusher close code after the frames already queued; later frames are not sent. The first close wins.
    func close(code: Int, reason: String) {
        let first = state.withLock { state in
            guard state.close == nil else { return false }
            state.close = (code, reason)
            return true
        }
        guard first else { return }
        continuation.finish()
        closedContinuation.finish()
    }

    /// Whether the relay closed the connection (the client may not have answered yet).
    var isClosed: Bool { state.withLock { $0.close != nil } }

    /// The close the relay decided on, if any.
    var closeFrame: (code: Int, reason: String)? { state.withLock { $0.close } }

    /// Whether the outbox overflowed (the writer then closes with 4100).
    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// The user this socket signed in as with `pusher:signin`.
    var signedInUser: String? {
        get { state.withLock { $0.signedInUser } }
        set { state.withLock { $0.signedInUser = newValue } }
    }

    /// Takes one client event from this connection's allowance of `perSecond` (bursts of up to `perSecond`, refilled
    /// continuously); false when none is left.
    func takeClientEvent(perSecond: Int, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            let rate = Double(perSecond)
            let elapsed = now - state.clientEventsCountedAt
            let refill = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rate
            var tokens = min(rate, (state.clientEventTokens ?? rate) + refill)
            state.clientEventsCountedAt = now
            defer { state.clientEventTokens = tokens }
            guard tokens >= 1 else { return false }
            tokens -= 1
            return true
        }
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
