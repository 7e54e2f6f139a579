public import Foundation
public import UsherCore
public import UsherCrypto

/// A loaded key ring: the active signer, the verification keys and the published JWKS text, built once per load.
public struct SigningKeys: Sendable {
    public let ring: KeyRing
    /// Signs new channel tokens; `nil` when the ring has no active key.
    public let signer: JWTSigner?
    /// Every key whose tokens still verify, by kid.
    public let verificationKeys: [JWTKey]
    /// `{"keys":[…]}` for `/.well-known/jwks.json`.
    public let jwks: String
    /// The earliest `retire_at` among published retiring keys: the JWKS must not be cached past it.
    public let nextRetirement: Date?

    init(ring: KeyRing, keys: [String: JWTKey], now: Date) throws(ServerError) {
        self.ring = ring
        let verifying = ring.verifying(at: now)
        verificationKeys = verifying.compactMap { keys[$0.kid] }
        do {
            signer = try ring.active.flatMap { keys[$0.kid] }.map { try JWTSigner(key: $0) }
            let published = try verifying.compactMap { record throws -> JSONValue? in
                guard let key = keys[record.kid], var jwk = try key.publicJWK() else { return nil }
                jwk["kid"] = .string(record.kid)
                jwk["alg"] = .string(record.alg.rawValue)
                jwk["use"] = "sig"
                return .object(jwk)
            }
            jwks = JSONValue.object(["keys": .array(published)]).jsonText
        } catch {
            throw .keyDirectory("cannot load signing keys: \(error)")
        }
        nextRetirement = verifying.compactMap { $0.status == .retiring ? $0.retireAt : nil }.min()
    }

    /// The keys whose tokens verify at `now`: a retiring key stops at its `retire_at` even when this ring was loaded
    /// before then (a running server reloads only when the files change).
    public func verificationKeys(at now: Date) -> [JWTKey] {
        let live = Set(ring.verifying(at: now).map(\.kid))
        return verificationKeys.filter { $0.kid.map(live.contains) ?? false }
    }

    /// These keys as of `now`: the same until the next retirement passes, then rebuilt without the retired keys
    /// (JWKS and ``nextRetirement`` included).
    public func refreshed(at now: Date) -> SigningKeys {
        guard let next = nextRetirement, next <= now else { return self }
        let keys = Dictionary(verificationKeys.compactMap { key in key.kid.map { ($0, key) } }, uniquingKeysWith: { first, _ in first })
        return (try? SigningKeys(ring: ring, keys: keys, now: now)) ?? self
    }

    /// An empty ring (no tokens issued, none verified).
    public static let empty: SigningKeys = try! SigningKeys(ring: KeyRing(records: []), keys: [:], now: Date())
}
