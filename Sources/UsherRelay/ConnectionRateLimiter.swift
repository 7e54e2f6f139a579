import NIOCore
import Synchronization

/// New connections per second per client address: a token bucket per address (bursts of `perSecond`, refilled
/// continuously), in a fixed table of buckets so that many addresses (an IPv6 sweep) cannot grow memory; addresses
/// that share a bucket share its allowance, which only ever makes the limit stricter.
final class ConnectionRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    static let buckets = 4096
    let perSecond: Int
    private let table: Mutex<[Bucket?]>

    init(perSecond: Int) {
        self.perSecond = perSecond
        table = Mutex(Array(repeating: nil, count: Self.buckets))
    }

    /// Takes one connection from `address`'s allowance; false when none is left. Connections without an IP address
    /// (a Unix socket) are not limited.
    func allow(_ address: SocketAddress?, now: ContinuousClock.Instant = .now) -> Bool {
        guard let key = address.flatMap(Self.key) else { return true }
        var hasher = Hasher()
        hasher.combine(key)
        let slot = Int(UInt(bitPattern: hasher.finalize()) % UInt(Self.buckets))
        let rate = Double(perSecond)
        return table.withLock { table in
            var bucket = table[slot] ?? Bucket(tokens: rate, at: now)
            let elapsed = now - bucket.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(rate, bucket.tokens + seconds * rate)
            bucket.at = now
            defer { table[slot] = bucket }
            guard bucket.tokens >= 1 else { return false }
            bucket.tokens -= 1
            return true
        }
    }

    /// The address's IP bytes (the port left out).
    private static func key(_ address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let v4): withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6): withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default: nil
        }
    }
}
