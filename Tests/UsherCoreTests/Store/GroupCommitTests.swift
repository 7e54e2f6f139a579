import Synchronization
import Testing
import UsherCore

/// `GroupCommit`: submissions that arrive while a group is applied go together in the next one, each submitter gets
/// exactly its own results, and a failed group fails only its own submitters.
@Suite struct GroupCommitTests {
    /// Records every group it is asked to apply; answers each write with its value times ten.
    final class Recorder: Sendable {
        let groups = Mutex<[[Int]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let failOn: Int?

        init(failOn: Int? = nil) {
            self.failOn = failOn
        }

        func apply(_ writes: [Int]) async throws -> [Int] {
            groups.withLock { $0.append(writes) }
            if writes.contains(0) {
                // The first group waits until the test has queued everything else behind it.
                await withCheckedContinuation { continuation in gate.withLock { $0 = continuation } }
            }
            if let failOn, writes.contains(failOn) { throw CancellationError() }
            return writes.map { $0 * 10 }
        }

        func release() {
            gate.withLock { $0?.resume(); $0 = nil }
        }

        var isHolding: Bool { gate.withLock { $0 != nil } }
    }

    /// Yields until `done` holds; a wait past 60 s fails the test instead of spinning forever.
    static func wait(until done: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !done() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            await Task.yield()
        }
    }

    /// Submission `n`'s writes: one to three values from `n * 100`.
    static func writes(_ submission: Int) -> [Int] {
        submission == 0 ? [0] : Array(submission * 100..<submission * 100 + submission % 3 + 1)
    }

    @Test("submissions queued behind a running group are applied together, in arrival order, each answered its own")
    func groupsWhatArrivesMeanwhile() async throws {
        let commit = GroupCommit<Int, Int>()
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: (Int, [Int]).self) { tasks in
            // A failed wait must fail the test, not leave the held group (and so the task group) waiting forever.
            defer { recorder.release() }
            tasks.addTask { (0, try await commit.submit([0], apply: recorder.apply)) }
            try await Self.wait { recorder.isHolding }
            var queued = 0
            for submission in 1...20 {
                let writes = Self.writes(submission)
                queued += writes.count
                tasks.addTask { (submission, try await commit.submit(writes, apply: recorder.apply)) }
                try await Self.wait { commit.queuedWrites >= queued }
            }
            recorder.release()
            for try await (submission, results) in tasks {
                #expect(results == Self.writes(submission).map { $0 * 10 })
            }
        }
        let groups = recorder.groups.withLock { $0 }
        let expected: [Int] = (1...20).flatMap { Self.writes($0) }
        #expect(groups.count == 2, "\(groups)")
        #expect(groups.last == expected)
    }

    @Test("a group that fails fails its own submitters only; the next group still runs")
    func failureStaysInItsGroup() async throws {
        let commit = GroupCommit<Int, Int>(maxWrites: 10)
        let recorder = Recorder(failOn: 7)
        var outcomes: [Int: Bool] = [:]
        try await withThrowingTaskGroup(of: (Int, Bool).self) { tasks in
            // A failed wait must fail the test, not leave the held group (and so the task group) waiting forever.
            defer { recorder.release() }
            tasks.addTask { (0, (try? await commit.submit([0], apply: recorder.apply)) != nil) }
            try await Self.wait { recorder.isHolding }
            for (index, first) in [5, 10, 15, 20].enumerated() {
                tasks.addTask { (first, (try? await commit.submit(Array(first..<first + 5), apply: recorder.apply)) != nil) }
                try await Self.wait { commit.queuedWrites >= (index + 1) * 5 }
            }
            recorder.release()
            for try await (first, ok) in tasks { outcomes[first] = ok }
        }
        // At most 10 writes per group: [5…9] and [10…14] fail together (7 is in the first), [15…24] succeed.
        #expect(outcomes == [0: true, 5: false, 10: false, 15: true, 20: true])
        #expect(recorder.groups.withLock { $0 } == [[0], Array(5..<15), Array(15..<25)])
    }

    @Test("single calls queued behind batches go first in the next group; the batches follow in arrival order")
    func smallFirst() async throws {
        let commit = GroupCommit<Int, Int>(maxWrites: 10)
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // A failed wait must fail the test, not leave the held group (and so the task group) waiting forever.
            defer { recorder.release() }
            tasks.addTask { _ = try? await commit.submit([0], apply: recorder.apply) }
            try await Self.wait { recorder.isHolding }
            var queued = 0
            for writes in [Array(10..<20), [1], Array(20..<30), [2], Array(30..<40)] {
                queued += writes.count
                tasks.addTask { _ = try? await commit.submit(writes, apply: recorder.apply) }
                try await Self.wait { commit.queuedWrites >= queued }
            }
            recorder.release()
        }
        #expect(recorder.groups.withLock { $0 } == [[0], [1, 2] + Array(10..<20), Array(20..<30), Array(30..<40)])
    }

    @Test("concurrent submitters each get exactly their own results")
    func manySubmitters() async throws {
        let commit = GroupCommit<Int, Int>()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for value in 1...500 {
                tasks.addTask {
                    let results = try await commit.submit([value, -value]) { writes in
                        await Task.yield()
                        return writes.map { $0 * 10 }
                    }
                    #expect(results == [value * 10, -value * 10])
                }
            }
            try await tasks.waitForAll()
        }
    }

    @Test("submissions with a completion join the same groups as awaited ones; each completion is called once, with its own results or its group's error")
    func completions() async throws {
        let commit = GroupCommit<Int, Int>(maxWrites: 10)
        let recorder = Recorder(failOn: 7)
        let completed = Mutex<[Int: [Swift.Result<[Int], any Error>]]>([:])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // A failed wait must fail the test, not leave the held group (and so the task group) waiting forever.
            defer { recorder.release() }
            // Idle: a completion's submission is applied at once, by a task of the committer's.
            commit.submit([0], apply: recorder.apply) { result in completed.withLock { $0[0, default: []].append(result) } }
            try await Self.wait { recorder.isHolding }
            var queued = 0
            for first in [5, 10, 15] {
                let writes = Array(first..<first + 5)
                queued += writes.count
                if first == 15 {
                    tasks.addTask {
                        let results = try await commit.submit(writes, apply: recorder.apply)
                        #expect(results == writes.map { $0 * 10 })
                    }
                } else {
                    commit.submit(writes, apply: recorder.apply) { result in completed.withLock { $0[first, default: []].append(result) } }
                }
                try await Self.wait { commit.queuedWrites >= queued }
            }
            recorder.release()
            try await Self.wait { completed.withLock { $0.count } == 3 }
        }
        // At most 10 writes per group: [5…9] and [10…14] fail together (7 is in the first); [15…19] succeeds.
        let outcomes = completed.withLock { $0 }
        #expect(outcomes.mapValues(\.count) == [0: 1, 5: 1, 10: 1])
        #expect((try? outcomes[0]?.first?.get()) == [0])
        #expect((try? outcomes[5]?.first?.get()) == nil)
        #expect((try? outcomes[10]?.first?.get()) == nil)
        #expect(recorder.groups.withLock { $0 } == [[0], Array(5..<15), Array(15..<20)])
    }
}
