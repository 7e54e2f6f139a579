import ServiceLifecycle
import Synchronization

/// Coalesces this node's subscription calls to Usher (joins, leaves, disconnects) into `POST …/batch` requests with
/// at most one in flight (DESIGN.md: send at once when nothing is in flight; otherwise gather until the call in
/// flight returns or the batch is full). A reconnect storm then costs Usher a few large requests, which it applies
/// as one group, instead of one request per socket.
///
/// A lone op goes out at once as a batch of one rather than as the single call: only the batch endpoint lets a join
/// say `"presence": false`, and one code path then answers every op. Ops submitted while a batch is in flight wait
/// for its answer and leave together, at most ``maxOps`` ops and ``maxBodyBytes`` per request.
///
/// Order: Usher applies a batch's ops in order and the next batch leaves only once the previous one answered, so ops
/// reach Usher in the order they were submitted. A socket submits an op only after its previous one answered, so
/// its own ops keep the order it issued them in. Snapshots never straddle a batch: every op is submitted and awaited
/// inside a ``ResyncGate`` change, so a snapshot waits for each batch holding one, and later ops wait for it.
///
/// Each caller awaits its own op's reply; a batch request that fails (network error, timeout, an answer that does
/// not match the ops) fails every op in it with that error, as each single call would have failed.
///
/// Shutdown: once ``shutdownBegan()`` was called, a failed request means Usher cannot be reached while every
/// session is closing, and all ops queued then or later fail at once with its error. Each further request would
/// fail the same way after the connect timeout (5 s for each 1,000 sockets: about 50 s to stop with 10,000 sockets
/// and Usher gone); Usher drops the node's sockets itself when its lease lapses.
final class CallBatcher: Service, Sendable {
    /// The most ops Usher takes in one batch.
    static let maxOps = 1000
    /// The largest batch body Usher takes (1 MiB).
    static let maxBodyBytes = 1 << 20
    /// `{"ops":[]}`, the part of the body that is not ops.
    private static let envelopeBytes = 10

    private struct Waiting: Sendable {
        let op: String
        let continuation: CheckedContinuation<UsherAPI.Reply, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        /// Set once the run loop ended: later ops fail at once instead of waiting for a batch that never leaves.
        var stopped = false
        /// Set by ``shutdownBegan()``.
        var shuttingDown = false
        /// The error of a request that failed during shutdown: later ops fail at once with it.
        var unreachable: (any Error)?
    }

    private let send: @Sendable ([String]) async throws -> [UsherAPI.Reply]
    private let state = Mutex(State())
    /// Rung on every submit; the run loop sends whatever is queued when it hears it.
    private let doorbell = Doorbell()

    /// - Parameter send: Sends one batch (ops as JSON texts, in order) and returns one reply per op; in the relay,
    ///   ``UsherAPI/batch(_:)``.
    init(send: @escaping @Sendable ([String]) async throws -> [UsherAPI.Reply]) {
        self.send = send
    }

    /// Queues one op (a batch op's JSON text) and returns Usher's reply to it.
    ///
    /// The wait ignores task cancellation: once queued, the op reaches Usher, and its caller must learn what Usher
    /// decided (a session cancelled mid-subscribe still sees the outcome before it submits the socket's disconnect).
    /// - Throws: The batch request's error (at once, during shutdown, once a request failed), or ``RelayError`` when
    ///   the relay has stopped.
    func submit(_ op: String) async throws -> UsherAPI.Reply {
        try await withCheckedThrowingContinuation { continuation in
            let refusal: (any Error)? = state.withLock { state in
                if state.stopped { return RelayError.usher("the relay is shutting down; the call was not sent") }
                if let error = state.unreachable { return error }
                state.queue.append(Waiting(op: op, continuation: continuation))
                return nil
            }
            if let refusal {
                continuation.resume(throwing: refusal)
            } else {
                doorbell.ring()
            }
        }
    }

    /// The relay began to shut down: from now on a failed request fails every op queued or submitted after it at once.
    func shutdownBegan() {
        state.withLock { $0.shuttingDown = true }
    }

    /// Ops waiting for the batch in flight to return.
    var queuedCount: Int { state.withLock { $0.queue.count } }

    /// Sends batches until graceful shutdown or cancellation; ops queued by then are still sent (the sessions closing
    /// on shutdown report their disconnects through here), later ones fail at once.
    func run() async throws {
        await doorbell.answer { await sendQueued() }
        state.withLock { $0.stopped = true }
        await sendQueued()
    }

    /// Sends batches until nothing is queued; every op taken gets its reply or the request's error.
    private func sendQueued() async {
        while let batch = takeBatch() {
            do {
                let replies = try await send(batch.map(\.op))
                guard replies.count == batch.count else { throw RelayError.usher("a batch answered \(replies.count) replies to \(batch.count) ops") }
                for (waiting, reply) in zip(batch, replies) { waiting.continuation.resume(returning: reply) }
            } catch {
                let abandoned = state.withLock { state -> [Waiting] in
                    guard state.shuttingDown else { return [] }
                    state.unreachable = error
                    defer { state.queue = [] }
                    return state.queue
                }
                for waiting in batch + abandoned { waiting.continuation.resume(throwing: error) }
            }
        }
    }

    /// Takes the oldest queued ops that fit one request: always at least one, then as many as the limits allow.
    private func takeBatch() -> [Waiting]? {
        state.withLock { state in
            guard let first = state.queue.first else { return nil }
            var count = 1
            var bytes = Self.envelopeBytes + first.op.utf8.count
            while count < min(state.queue.count, Self.maxOps) {
                bytes += 1 + state.queue[count].op.utf8.count
                guard bytes <= Self.maxBodyBytes else { break }
                count += 1
            }
            defer { state.queue.removeFirst(count) }
            return Array(state.queue.prefix(count))
        }
    }
}
