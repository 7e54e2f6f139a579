import Synchronization

/// The newest known sequence number of an event log, and the readers waiting for it to grow.
///
/// Stores raise it after they append (the memory store's log; the Postgres store on its own commits and on NOTIFY
/// from other instances), and SSE readers wait on it instead of polling. Readers always re-read the log after a
/// wake-up, so a spurious or late wake-up costs at most one wait.
public final class SequenceSignal: Sendable {
    private struct State {
        var latest: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Creates a signal at sequence 0.
    public init() {}

    /// Raises the known latest sequence and wakes every waiter when it grew.
    public func advance(to sequence: UInt64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard sequence > state.latest else { return [] }
            state.latest = sequence
            defer { state.waiters.removeAll(keepingCapacity: true) }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Lowers the known latest sequence when the log itself went back (a database restored or replaced under a
    /// running server); otherwise readers whose cursor restarted below the old value would never wait again.
    public func lower(to sequence: UInt64) {
        state.withLock { state in
            if sequence < state.latest { state.latest = sequence }
        }
    }

    /// Returns once a sequence after `sequence` is known, after `timeout`, or on cancellation.
    public func wait(after sequence: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForAdvance(after: sequence) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForAdvance(after sequence: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.latest > sequence || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
