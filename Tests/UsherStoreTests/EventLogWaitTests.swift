import Testing
import UsherCore
import UsherStore

/// `EventLog.wait(after:timeout:)`: woken by appends, by its timeout, or by cancellation, never left hanging.
///
/// Waits use timeouts of an hour, so a waiter that is not woken shows up as a time-limit failure, not a slow pass.
@Suite(.timeLimit(.minutes(1))) struct EventLogWaitTests {
    static let forever: Duration = .seconds(3600)

    @Test("a wait returns once an event is appended, and not before")
    func wakesOnAppend() async throws {
        let log = EventLog(capacity: 8)
        let returned = SharedCounter()
        let waiter = Task {
            await log.wait(after: 0, timeout: Self.forever)
            returned.increment()
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(returned.value == 0, "the wait returned with nothing logged")
        log.append(users: ["a"])
        await waiter.value
        #expect(returned.value == 1)
    }

    @Test("a wait after a position the log has already passed returns at once")
    func alreadySatisfied() async {
        let log = EventLog(capacity: 8)
        log.append(users: ["a", "b"])
        await log.wait(after: 1, timeout: Self.forever)
        await log.wait(after: 0, timeout: Self.forever)
    }

    @Test("a wait with nothing appended returns after its timeout, leaving the log unchanged")
    func timesOut() async {
        let log = EventLog(capacity: 8)
        log.append(users: ["a"])
        await log.wait(after: 1, timeout: .milliseconds(20))
        #expect(log.latest == 1)
    }

    @Test("cancelling the waiting task ends the wait, and a later append resumes nothing twice")
    func cancellation() async throws {
        let log = EventLog(capacity: 8)
        let waiters = (0..<50).map { _ in Task { await log.wait(after: 0, timeout: Self.forever) } }
        try await Task.sleep(for: .milliseconds(50))
        for waiter in waiters { waiter.cancel() }
        for waiter in waiters { await waiter.value }
        // Each cancelled continuation was removed when it was resumed: resuming it again here would trap.
        log.append(users: ["a"])
        // A task cancelled before it starts waiting must not wait either.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await log.wait(after: 1, timeout: Self.forever)
        }
        await early.value
    }

    @Test("many concurrent waiters all wake on a single append")
    func manyWaiters() async throws {
        let log = EventLog(capacity: 8)
        let woken = SharedCounter()
        let count = 500
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    await log.wait(after: 0, timeout: Self.forever)
                    woken.increment()
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(woken.value == 0)
            log.append(users: ["a"])
            try await group.waitForAll()
        }
        #expect(woken.value == count)
        // Every waiter was handed off by that append: another one wakes no stale continuation.
        log.append(users: ["b"])
        #expect(log.latest == 2)
    }

    @Test("waiters keep waking on later appends (no waiter left behind after the first wake-up)")
    func repeatedWakeUps() async {
        let log = EventLog(capacity: 64)
        for round in 0..<20 {
            async let woke: Void = log.wait(after: UInt64(round), timeout: Self.forever)
            log.append(users: ["u\(round)"])
            await woke
        }
        #expect(log.latest == 20)
    }
}
