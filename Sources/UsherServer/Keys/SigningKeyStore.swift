public import Foundation
public import UsherCore
public import UsherCrypto

/// The JWT signing keys under `keys/signing/`: `keyring.json` plus one 0600 PEM per key.
///
/// Crash safety: a rotation writes the new PEM first and then replaces `keyring.json` atomically, both under the
/// directory lock, so a crash at any point leaves the previous ring or the new one (an orphan PEM at worst).
public struct SigningKeyStore: Sendable {
    public let directory: KeyDirectory
    static let ringFile = "signing/keyring.json"

    public init(directory: KeyDirectory) {
        self.directory = directory
    }

    /// The ring on disk; empty when there is none yet.
    public func loadRing() throws(ServerError) -> KeyRing {
        guard directory.exists(Self.ringFile) else { return try ring([]) }
        let data = try directory.readPrivate(Self.ringFile)
        do {
            return try ring(try Self.decoder.decode([SigningKeyRecord].self, from: data))
        } catch let error as ServerError {
            throw error
        } catch {
            throw .keyDirectory("\(directory.path)/\(Self.ringFile) is not a valid key ring: \(error)")
        }
    }

    /// The ring with its keys parsed (each PEM once), ready to sign and verify at `now`.
    public func load(now: Date) throws(ServerError) -> SigningKeys {
        let ring = try loadRing()
        var keys: [String: JWTKey] = [:]
        for record in ring.verifying(at: now) {
            let pem = String(decoding: try directory.readPrivate("signing/\(record.kid).pem"), as: UTF8.self)
            do {
                keys[record.kid] = try JWTKey.pem(pem, algorithm: record.alg, kid: record.kid)
            } catch {
                throw .keyDirectory("signing key \(record.kid): \(error)")
            }
        }
        return try SigningKeys(ring: ring, keys: keys, now: now)
    }

    /// How long a running server may keep signing with the previous key before it reloads (it polls every second);
    /// `usher keys rotate` adds it to the overlap so a token signed in that window still verifies for its whole lifetime.
    public static let reloadMargin: Duration = .seconds(10)

    /// Generates a key, makes it active, and retires the previous active key at `now + overlap`.
    @discardableResult
    public func rotate(algorithm: JWTAlgorithm, overlap: Duration, now: Date) throws(ServerError) -> SigningKeyRecord {
        try directory.prepare(["signing"])
        return try directory.withLock { () throws(ServerError) -> SigningKeyRecord in
            var ring = try loadRing()
            let kid = Self.newKID(now: now)
            let pem: String
            do {
                let family: AsymmetricKey.Family = switch algorithm {
                case .es256: .p256
                case .rs256: .rsa
                case .edDSA: .ed25519
                case .hs256: throw ServerError.keyDirectory("signing keys are asymmetric: ES256, RS256 or EdDSA")
                }
                pem = try AsymmetricKey.generate(family).privateKeyPEM()
                try ring.rotate(to: kid, alg: algorithm, now: now, overlap: overlap)
            } catch let error as ServerError {
                throw error
            } catch {
                throw .keyDirectory("cannot rotate: \(error)")
            }
            try directory.writeAtomically(Data(pem.utf8), to: "signing/\(kid).pem")
            try write(ring)
            return ring.active!
        }
    }

    /// Marks `kid` retired now.
    public func retire(_ kid: String, now: Date) throws(ServerError) {
        try directory.withLock { () throws(ServerError) in
            var ring = try loadRing()
            do { try ring.retire(kid, now: now) } catch { throw .keyDirectory("\(error)") }
            try write(ring)
        }
    }

    /// Drops keys that no longer verify, and their PEM files; returns the dropped kids.
    public func prune(now: Date) throws(ServerError) -> [String] {
        try directory.withLock { () throws(ServerError) -> [String] in
            var ring = try loadRing()
            let dropped = ring.prune(now: now)
            guard !dropped.isEmpty else { return [] }
            try write(ring)
            for kid in dropped { unlink(directory.path + "/signing/\(kid).pem") }
            return dropped
        }
    }

    /// Creates the first ES256 key when the ring has no active key (first run).
    public func ensureActiveKey(now: Date) throws(ServerError) {
        if try loadRing().active == nil { try rotate(algorithm: .es256, overlap: .zero, now: now) }
    }

    private func write(_ ring: KeyRing) throws(ServerError) {
        do {
            try directory.writeAtomically(try Self.encoder.encode(ring.records), to: Self.ringFile)
        } catch let error as ServerError {
            throw error
        } catch {
            throw .keyDirectory("cannot encode the key ring")
        }
    }

    private func ring(_ records: [SigningKeyRecord]) throws(ServerError) -> KeyRing {
        do { return try KeyRing(records: records) } catch { throw .keyDirectory("\(error)") }
    }

    /// Date plus randomness: sortable by eye, unique without coordination.
    static func newKID(now: Date) -> String {
        let day = Int(now.timeIntervalSince1970) / 86_400
        return "k\(day)-" + Hex.encode(SecureRandom.bytes(count: 6))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
