import Synchronization
import UsherCrypto

/// Identities of tokens that already passed verification, until their `exp`.
///
/// What it buys: a browser presents the same identity token for every channel it joins, and verifying it (two
/// JSON decodes plus libjwt or an ECDSA verify) costs more than the rest of the auth request; a hit costs one
/// SHA-256 of the token. Keyed by that digest (the token itself is never stored), bounded, and owned by one app's
/// verifier, so a key reload starts a fresh cache. Only successes are cached: a refused token is checked again.
final class VerifiedTokenCache: Sendable {
    private struct Entry {
        let identity: Identity
        let expiresAt: Double
    }

    private let entries = Mutex<[[UInt8]: Entry]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The cached identity for `digest`, if it has not expired at `now` (Unix seconds).
    func identity(for digest: [UInt8], now: Double) -> Identity? {
        entries.withLock { entries in
            guard let entry = entries[digest] else { return nil }
            guard now < entry.expiresAt else {
                entries[digest] = nil
                return nil
            }
            return entry.identity
        }
    }

    /// Remembers a verified identity until `expiresAt` (its `exp` plus leeway).
    func store(_ identity: Identity, for digest: [UInt8], expiresAt: Double) {
        entries.withLock { entries in
            // Wholesale reset when full: simple, bounded, and a miss only costs one verification.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[digest] = Entry(identity: identity, expiresAt: expiresAt)
        }
    }
}
