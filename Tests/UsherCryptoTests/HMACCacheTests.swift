import Foundation
import Synchronization
import Testing
@testable import UsherCrypto

/// The per-thread `EVP_MAC` context cache: more keys than its capacity (64), interleaved, on many threads,
/// must always give the answer of a cache-free reference HMAC.
@Suite struct HMACCacheTests {
    /// 150 keys of lengths 0…149 (empty, shorter and longer than the SHA-256 block), each with its expected MAC.
    struct Case: Sendable {
        let key: HMACKey
        let secret: [UInt8]
        let expected: [UInt8]
    }

    static let message = Array("1234.1234:private-channel".utf8)
    static let cases: [Case] = (0..<150).map { index in
        let secret = (0..<index).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
        return Case(key: HMACKey(secret: secret), secret: secret, expected: referenceHMAC(key: secret, message: message))
    }

    /// MACs every case in an order that depends on `seed`; returns how many answers were wrong.
    static func mismatches(seed: Int, rounds: Int) -> Int {
        var wrong = 0
        for round in 0..<rounds {
            for offset in 0..<cases.count {
                let item = cases[(offset &* 7 &+ seed &+ round) % cases.count]
                if item.key.mac(message) != item.expected { wrong += 1 }
            }
        }
        return wrong
    }

    /// A shared tally (a class, because escaping thread closures cannot capture an `Atomic`).
    final class Tally: Sendable {
        private let count = Atomic<Int>(0)
        func add(_ n: Int) { count.add(n, ordering: .relaxed) }
        var total: Int { count.load(ordering: .relaxed) }
    }

    @Test("interleaving more keys than the cache holds keeps every MAC right")
    func interleavedPastCapacity() {
        #expect(Self.mismatches(seed: 0, rounds: 4) == 0)
        // One key, then enough others to evict it, then the first again.
        let first = Self.cases[3]
        #expect(first.key.mac(Self.message) == first.expected)
        for item in Self.cases[10..<90] { #expect(item.key.mac(Self.message) == item.expected) }
        #expect(first.key.mac(Self.message) == first.expected)
    }

    @Test("a new key never inherits a released key's cached context")
    func shortLivedKeys() {
        for index in 0..<300 {
            let secret = Array("short-lived-\(index)".utf8)
            #expect(HMACKey(secret: secret).mac(Self.message) == referenceHMAC(key: secret, message: Self.message))
        }
    }

    @Test("concurrent tasks with interleaved keys all get correct MACs")
    func concurrentTasks() async {
        let wrong = await withTaskGroup(of: Int.self) { group in
            for seed in 0..<24 { group.addTask { Self.mismatches(seed: seed, rounds: 3) } }
            return await group.reduce(0, +)
        }
        #expect(wrong == 0)
    }

    @Test("concurrent threads, including threads that exit and free their caches, get correct MACs")
    func concurrentThreads() {
        let wrong = Tally()
        DispatchQueue.concurrentPerform(iterations: 16) { seed in
            wrong.add(Self.mismatches(seed: seed, rounds: 3))
        }
        let finished = DispatchGroup()
        for seed in 0..<8 {
            finished.enter()
            let thread = Thread {
                wrong.add(Self.mismatches(seed: seed, rounds: 1))
                finished.leave()
            }
            thread.start()
        }
        finished.wait()
        #expect(wrong.total == 0)
    }

    @Test("one key shared by many threads signs different messages correctly")
    func sharedKey() {
        let secret = Array("shared-by-every-thread".utf8)
        let key = HMACKey(secret: secret)
        let wrong = Tally()
        DispatchQueue.concurrentPerform(iterations: 16) { thread in
            for index in 0..<200 {
                let message = Array("\(thread)-\(index)".utf8)
                if key.mac(message) != referenceHMAC(key: secret, message: message) { wrong.add(1) }
            }
        }
        #expect(wrong.total == 0)
    }
}
