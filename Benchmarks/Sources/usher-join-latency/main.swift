// Join-to-delivery latency through the memory store and its event log: a producer joins presence members at a
// steady rate (default 5,000/s) while a consumer does what each SSE stream does — waits on the log and reads the
// new events — and records, per member_added, the time from calling join to holding the event.
// In-process: it leaves out HTTP parsing and socket writes on both sides.
// Run: swift run -c release --scratch-path .build usher-join-latency [RATE] [SECONDS]
import Foundation
import Synchronization
import UsherCore
import UsherStore

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let rate = arguments.first ?? 5_000
let seconds = arguments.count > 1 ? arguments[1] : 10
let total = rate * seconds
let store = MemoryPresenceStore(configuration: .init(graceMillis: 0, leaseMillis: 3_600_000), logCapacity: 100_000)
let node = try NodeID(validating: "bench")
let sent = Mutex<[String: ContinuousClock.Instant]>([:])

let latencies = await withTaskGroup(of: [Duration].self) { group in
    group.addTask {
        var cursor: UInt64 = 0
        var samples: [Duration] = []
        samples.reserveCapacity(total)
        while samples.count < total {
            await store.waitForEvents(after: cursor, timeout: .seconds(1))
            guard case .events(let events) = store.events(after: cursor, limit: 10_000) else { continue }
            let now = ContinuousClock.now
            for event in events {
                cursor = event.sequence
                guard event.kind == .memberAdded, let user = event.userID,
                    let start = sent.withLock({ $0.removeValue(forKey: user) })
                else { continue }
                samples.append(now - start)
            }
        }
        return samples
    }
    group.addTask {
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        var next = ContinuousClock.now
        for index in 0..<total {
            next += interval
            try? await Task.sleep(until: next, clock: .continuous)
            let user = "u\(index)"
            let subscription = try! Subscription(
                app: "bench", socketID: try! SocketID(validating: "1.\(index)"),
                channel: try! ChannelName(validating: "presence-room-\(index % 1000)"), member: PresenceMember(userID: user)
            )
            sent.withLock { $0[user] = ContinuousClock.now }
            _ = await store.join(subscription, node: node, limits: PresenceLimits(maxMembers: 1_000_000))
        }
        return []
    }
    var all: [Duration] = []
    for await samples in group { all += samples }
    return all.sorted()
}

func percentile(_ p: Double) -> Double {
    let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
    return Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1e3
}
print("joins: \(latencies.count) at \(rate)/s for \(seconds) s")
print(String(format: "join-to-delivery latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f",
             percentile(0.50), percentile(0.99), percentile(0.999), percentile(1.0)))
