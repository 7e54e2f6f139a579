import Synchronization
public import UsherCore

/// The bounded in-memory event log: appends never wait for readers, readers pull by sequence number, and a reader
/// that asks for entries already dropped gets `.gap` (the relay then refetches state).
///
/// A `Mutex` rather than an actor: SSE readers poll it without queueing behind presence mutations.
public final class EventLog: Sendable {
    private struct State {
        /// Grows to `capacity`, then wraps: memory follows use, not the configured size (up to 10 M events).
        var entries: [StreamEvent] = []
        var head = 0  // index of the oldest entry
        var count = 0
        var latest: UInt64 = 0
        var countsByKind: [StreamEvent.Kind: Int] = [:]
        /// The ring's size: `capacity`, or the largest single append if that was larger.
        var size: Int

        /// Makes the ring `newSize` long, keeping its entries in order (oldest first).
        mutating func grow(to newSize: Int) {
            entries = (0..<count).map { entries[(head + $0) % size] }
            head = 0
            size = newSize
        }
    }

    private let state: Mutex<State>
    private let signal = SequenceSignal()
    /// How many events are retained for resumption, at least.
    public let capacity: Int

    public init(capacity: Int = 10_000) {
        precondition(capacity > 0, "event log capacity must be positive")
        self.capacity = capacity
        state = Mutex(State(size: capacity))
    }

    /// Appends events built by `make(sequence)` in order, and wakes every waiting reader.
    @discardableResult
    public func append<E>(_ events: [E], _ make: (UInt64, E) -> StreamEvent) -> [StreamEvent] {
        guard !events.isEmpty else { return [] }
        let logged = state.withLock { state in
            // One append larger than the ring (a dead node's members, all removed at once) would push its own first
            // events out before any reader saw them, resetting every reader: the ring grows to hold it whole.
            if events.count > state.size { state.grow(to: events.count) }
            var logged: [StreamEvent] = []
            logged.reserveCapacity(events.count)
            for event in events {
                state.latest += 1
                let entry = make(state.latest, event)
                logged.append(entry)
                state.countsByKind[entry.kind, default: 0] += 1
                let slot = (state.head + state.count) % state.size
                if slot == state.entries.count { state.entries.append(entry) } else { state.entries[slot] = entry }
                if state.count == state.size {
                    state.head = (state.head + 1) % state.size
                } else {
                    state.count += 1
                }
            }
            return logged
        }
        if let last = logged.last { signal.advance(to: last.sequence) }
        return logged
    }

    /// The oldest retained sequence number (`latest + 1` when nothing is retained).
    public var oldestRetained: UInt64 { state.withLock { $0.latest - UInt64($0.count) + 1 } }

    /// How many events of each kind were ever appended (for metrics).
    public var countsByKind: [StreamEvent.Kind: Int] { state.withLock { $0.countsByKind } }

    /// The newest sequence number (0 when nothing was logged).
    public var latest: UInt64 { state.withLock { $0.latest } }

    /// Entries after `sequence`, at most `limit`; `.gap` when some were already dropped (or `sequence` is in the future,
    /// as after a restart of the process that numbered it).
    public func events(after sequence: UInt64, limit: Int) -> EventPage {
        state.withLock { state in
            guard sequence <= state.latest else { return .gap(latest: state.latest) }
            let oldest = state.latest - UInt64(state.count) + 1
            guard sequence + 1 >= oldest else { return .gap(latest: state.latest) }
            let available = Int(state.latest - sequence)
            let take = min(available, max(limit, 0))
            var out: [StreamEvent] = []
            out.reserveCapacity(take)
            let start = state.count - available
            for offset in start..<(start + take) {
                out.append(state.entries[(state.head + offset) % state.size])
            }
            return .events(out)
        }
    }

    /// Returns once the log grows (or already holds an event after `sequence`), after `timeout`, or on cancellation;
    /// callers re-read the log, so a wake-up without a new event for them is harmless.
    public func wait(after sequence: UInt64, timeout: Duration) async {
        await signal.wait(after: sequence, timeout: timeout)
    }
}
