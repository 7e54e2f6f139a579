public import Foundation
public import UsherCrypto

/// The signing key ring's rules, without I/O: one active key signs; rotating makes a new active key and the previous
/// one retiring for an overlap that must cover the longest token lifetime, so no valid token ever stops verifying.
public struct KeyRing: Sendable, Hashable {
    /// Entries in creation order.
    public private(set) var records: [SigningKeyRecord]

    /// A ring from stored records; refuses more than one active key, duplicate or invalid kids.
    public init(records: [SigningKeyRecord]) throws(CoreError) {
        guard records.filter({ $0.status == .active }).count <= 1 else { throw .invalidKeyRing("more than one active key") }
        guard Set(records.map(\.kid)).count == records.count else { throw .invalidKeyRing("duplicate kid") }
        guard records.allSatisfy({ SigningKeyRecord.isValidKID($0.kid) }) else { throw .invalidKeyRing("invalid kid") }
        self.records = records
    }

    /// The key that signs, if any.
    public var active: SigningKeyRecord? { records.first { $0.status == .active } }

    /// Keys whose tokens verify at `now` (active, and retiring before their `retireAt`): the published JWKS.
    public func verifying(at now: Date) -> [SigningKeyRecord] { records.filter { $0.verifies(at: now) } }

    /// Makes `kid` the active key; the previous active key retires at `now + overlap`.
    public mutating func rotate(to kid: String, alg: JWTAlgorithm, now: Date, overlap: Duration) throws(CoreError) {
        guard SigningKeyRecord.isValidKID(kid) else { throw .invalidKeyRing("invalid kid") }
        guard !records.contains(where: { $0.kid == kid }) else { throw .invalidKeyRing("kid \(kid) exists") }
        // Rounded up to a whole second: keyring.json stores whole seconds (truncating), which must not shorten the overlap.
        let retireAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(overlap.components.seconds)).rounded(.up))
        for index in records.indices where records[index].status == .active {
            records[index].status = .retiring
            records[index].retireAt = retireAt
        }
        records.append(SigningKeyRecord(kid: kid, alg: alg, status: .active, created: now))
    }

    /// Stops `kid` verifying now. Retiring the active key leaves the ring without a signer until the next rotation.
    public mutating func retire(_ kid: String, now: Date) throws(CoreError) {
        guard let index = records.firstIndex(where: { $0.kid == kid }) else { throw .invalidKeyRing("unknown kid \(kid)") }
        records[index].status = .retired
        records[index].retireAt = records[index].retireAt.map { min($0, now) } ?? now
    }

    /// Drops keys that no longer verify (retired, or retiring past `retireAt`); returns their kids.
    public mutating func prune(now: Date) -> [String] {
        let dropped = records.filter { !$0.verifies(at: now) }.map(\.kid)
        records.removeAll { !$0.verifies(at: now) }
        return dropped
    }
}
