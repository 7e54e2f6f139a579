import Synchronization

/// Group commit: whatever is submitted while the previous group is being applied is applied next, as one unit.
///
/// Callers submit their writes (a single call's one write, or a batch's many) and wait for their own results, or pass
/// a completion to be called with them (a caller on an event loop then needs no task of its own). When nothing is
/// being applied, a submission is applied at once; otherwise it joins the next group, which starts when the current
/// one is done. A group never splits a submission and keeps submissions in arrival order, so its
/// writes are applied exactly as if each submission had been applied alone, one after another.
///
/// ```swift
/// let commit = GroupCommit<PresenceWrite, PresenceWriteResult>(maxWrites: 4096)
/// let results = try await commit.submit(writes) { group in try await store.applyGroup(group) }
/// ```
public final class GroupCommit<Write: Sendable, Result: Sendable>: Sendable {
    public typealias Apply = @Sendable ([Write]) async throws -> [Result]

    public typealias Completion = @Sendable (Swift.Result<[Result], any Error>) -> Void

    private struct Submission {
        let writes: [Write]
        let complete: Completion
    }

    private struct State {
        var pending: [Submission] = []
        var pendingWrites = 0
        var applying = false

        /// Takes the right to apply the next group, when nobody holds it.
        mutating func claim() -> Bool {
            guard !applying else { return false }
            applying = true
            return true
        }
    }

    private let state = Mutex(State())
    /// A group stops taking submissions once it holds this many writes (one submission may exceed it alone).
    public let maxWrites: Int

    public init(maxWrites: Int = 4096) {
        self.maxWrites = maxWrites
    }

    /// Applies `writes` in the next group and returns their results, in order.
    ///
    /// A submission that finds the committer idle is applied at once, on the caller's own task (a lone call costs
    /// no extra hop); submissions that arrive meanwhile wait, and are then applied in groups by a task of their own
    /// until none is left.
    ///
    /// - Parameter apply: Applies one group: must return exactly one result per write, in order. Every submitter
    ///   passes the same function.
    /// - Throws: What `apply` threw for the group this submission was in (the whole group failed).
    public func submit(_ writes: [Write], apply: @escaping Apply) async throws -> [Result] {
        if writes.isEmpty { return [] }
        if state.withLock({ $0.claim() }) {
            defer { handOff(apply) }
            return try await apply(writes)
        }
        return try await withCheckedThrowingContinuation { continuation in
            submit(writes, apply: apply) { continuation.resume(with: $0) }
        }
    }

    /// Applies `writes` in the next group and calls `complete` with their results, in order, or with what `apply`
    /// threw for their group; `complete` runs on the task that applied the group, so it should only hand the results
    /// on. A submission that finds the committer idle is applied by a new task.
    public func submit(_ writes: [Write], apply: @escaping Apply, complete: @escaping Completion) {
        if writes.isEmpty { return complete(.success([])) }
        let lead = state.withLock { state in
            if state.claim() { return true }
            state.pending.append(Submission(writes: writes, complete: complete))
            state.pendingWrites += writes.count
            return false
        }
        guard lead else { return }
        Task {
            do { complete(.success(try await apply(writes))) } catch { complete(.failure(error)) }
            self.handOff(apply)
        }
    }

    /// Writes waiting for the next group (for metrics and tests).
    public var queuedWrites: Int { state.withLock { $0.pendingWrites } }

    /// After a group: idle again, or a task applies what queued meanwhile.
    private func handOff(_ apply: @escaping Apply) {
        let more = state.withLock { state in
            if state.pending.isEmpty { state.applying = false }
            return state.applying
        }
        if more { Task { await self.drain(apply) } }
    }

    private func drain(_ apply: Apply) async {
        while let group = nextGroup() {
            let writes = group.count == 1 ? group[0].writes : group.flatMap(\.writes)
            do {
                let results = try await apply(writes)
                precondition(results.count == writes.count, "a group's apply must answer every write")
                var start = 0
                for submission in group {
                    let end = start + submission.writes.count
                    submission.complete(.success(Array(results[start..<end])))
                    start = end
                }
            } catch {
                for submission in group { submission.complete(.failure(error)) }
            }
        }
    }

    /// Takes the submissions of the next group, or marks the committer idle when none wait.
    ///
    /// Small submissions (single calls) go first, then the rest in arrival order, up to ``maxWrites``: under a steady
    /// load of large batches a lone join then waits for at most the group in flight, not for every batch queued
    /// before it. Reordering waiting submissions is safe: they are concurrent calls with no order among them (a
    /// relay never has two of its own in flight), and each submission's writes stay together and in order.
    private func nextGroup() -> [Submission]? {
        state.withLock { state in
            guard !state.pending.isEmpty else {
                state.applying = false
                return nil
            }
            var group: [Submission] = []
            var rest: [Submission] = []
            var writes = 0
            var tookLarge = false
            for submission in state.pending where submission.writes.count <= Self.smallSubmission {
                group.append(submission)
                writes += submission.writes.count
            }
            for submission in state.pending where submission.writes.count > Self.smallSubmission {
                // At least one large submission per group, so a stream of small ones cannot starve batches.
                if !tookLarge || writes + submission.writes.count <= maxWrites {
                    group.append(submission)
                    writes += submission.writes.count
                    tookLarge = true
                } else {
                    rest.append(submission)
                }
            }
            state.pending = rest
            state.pendingWrites -= writes
            return group
        }
    }

    /// Submissions of at most this many writes go first in a group.
    static var smallSubmission: Int { 4 }
}
