import Testing
import UsherCore
import UsherStore

/// The bounded event log: numbering, paging, ring wrap-around, gaps and counts.
@Suite struct EventLogTests {
    @Test("sequence numbers start at 1 and increase by one per event, also across batches")
    func numbering() {
        let log = EventLog(capacity: 16)
        #expect(log.latest == 0)
        #expect(log.append(users: ["a"]) == [1])
        #expect(log.append(users: ["b", "c", "d"]) == [2, 3, 4])
        #expect(log.append(users: []) == [])
        #expect(log.latest == 4)
        #expect(log.all()?.map(\.sequence) == [1, 2, 3, 4])
        #expect(log.all()?.map(\.userID) == ["a", "b", "c", "d"])
    }

    @Test("an empty log pages as no events, not a gap")
    func emptyLog() {
        let log = EventLog(capacity: 4)
        guard case .events(let events) = log.events(after: 0, limit: 10) else {
            Issue.record("empty log answered a gap")
            return
        }
        #expect(events.isEmpty)
    }

    @Test("events(after:limit:) pages through the log in order")
    func paging() {
        let log = EventLog(capacity: 32)
        log.append(users: (1...10).map { "u\($0)" })
        var cursor: UInt64 = 0
        var pages: [[UInt64]] = []
        while case .events(let page) = log.events(after: cursor, limit: 4), !page.isEmpty {
            pages.append(page.map(\.sequence))
            cursor = page.last!.sequence
        }
        #expect(pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]])
        guard case .events(let tail) = log.events(after: 10, limit: 4) else {
            Issue.record("reading at the head answered a gap")
            return
        }
        #expect(tail.isEmpty)
    }

    @Test("a zero or negative limit answers no events instead of trapping", arguments: [0, -1, Int.min])
    func nonPositiveLimit(limit: Int) {
        let log = EventLog(capacity: 4)
        log.append(users: ["a", "b"])
        guard case .events(let events) = log.events(after: 0, limit: limit) else {
            Issue.record("limit \(limit) answered a gap")
            return
        }
        #expect(events.isEmpty)
    }

    @Test("wrapping at capacity keeps the newest events, oldest first")
    func ringWrap() {
        let log = EventLog(capacity: 5)
        for index in 1...13 { log.append(users: ["u\(index)"]) }
        #expect(log.latest == 13)
        // The oldest retained entry is 9, so resuming right before it still works.
        #expect(log.all(after: 8)?.map(\.sequence) == [9, 10, 11, 12, 13])
        #expect(log.all(after: 8)?.map(\.userID) == ["u9", "u10", "u11", "u12", "u13"])
        #expect(log.all(after: 11)?.map(\.sequence) == [12, 13])
        guard case .events(let page) = log.events(after: 9, limit: 2) else {
            Issue.record("a retained position answered a gap")
            return
        }
        #expect(page.map(\.sequence) == [10, 11])
    }

    @Test("one append larger than the ring is kept whole: a reader caught up before it sees every event, no gap")
    func appendLargerThanRing() {
        let log = EventLog(capacity: 5)
        for index in 1...7 { log.append(users: ["u\(index)"]) }
        // A dead node's 12 members removed at once: before, the first 7 of them were gone before anyone read them.
        log.append(users: (1...12).map { "gone\($0)" }, kind: .memberRemoved)
        #expect(log.all(after: 7)?.map(\.userID) == (1...12).map { "gone\($0)" })
        // The ring is now 12 long and wraps as before.
        log.append(users: ["late"])
        #expect(log.all(after: 8)?.count == 12)
        #expect(log.all(after: 7) == nil)
        #expect(log.oldestRetained == 9)
    }

    @Test("resuming from a position already dropped is a gap naming the newest sequence", arguments: [0, 1, 7] as [UInt64])
    func droppedPosition(position: UInt64) {
        let log = EventLog(capacity: 5)
        for index in 1...13 { log.append(users: ["u\(index)"]) }
        guard case .gap(let latest) = log.events(after: position, limit: 10) else {
            Issue.record("resuming after \(position) with only 9…13 retained did not answer a gap")
            return
        }
        #expect(latest == 13)
    }

    @Test("a position in the future (numbered by an earlier process) is a gap", arguments: [4, 100, UInt64.max])
    func futurePosition(position: UInt64) {
        let log = EventLog(capacity: 8)
        log.append(users: ["a", "b", "c"])
        guard case .gap(let latest) = log.events(after: position, limit: 10) else {
            Issue.record("position \(position) past the head did not answer a gap")
            return
        }
        #expect(latest == 3)
    }

    @Test("countsByKind counts every event ever appended, including those dropped by the ring")
    func countsByKind() {
        let log = EventLog(capacity: 2)
        log.append(users: ["a", "b", "c"], kind: .memberAdded)
        log.append(users: ["a"], kind: .memberRemoved)
        log.append(users: ["x"], kind: .terminateConnections)
        #expect(log.countsByKind == [.memberAdded: 3, .memberRemoved: 1, .terminateConnections: 1])
    }

    @Test("concurrent appenders produce one gap-free sequence with every event logged once")
    func concurrentAppenders() async {
        let log = EventLog(capacity: 10_000)
        let writers = 8
        let perWriter = 250
        let returned = await withTaskGroup(of: [UInt64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var mine: [UInt64] = []
                    for index in 0..<perWriter {
                        // Batches of two must stay contiguous even when interleaved with other writers.
                        let batch = log.append(users: ["w\(writer)-\(index)a", "w\(writer)-\(index)b"])
                        #expect(batch.count == 2 && batch[1] == batch[0] + 1)
                        mine += batch
                    }
                    return mine
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        let total = writers * perWriter * 2
        #expect(returned.sorted() == Array(1...UInt64(total)))
        let logged = log.all() ?? []
        #expect(logged.map(\.sequence) == Array(1...UInt64(total)))
        #expect(Set(logged.compactMap(\.userID)).count == total)
        #expect(log.latest == UInt64(total))
    }
}
