public import Foundation
public import UsherCrypto

/// One signing key's entry in `keys/signing/keyring.json`; the private key itself is `keys/signing/<kid>.pem`.
public struct SigningKeyRecord: Sendable, Hashable, Codable {
    /// Where a key is in its life: exactly one key is `active` (signs); `retiring` keys still verify and are published
    /// until `retireAt`; `retired` keys do neither and wait for `usher keys prune`.
    public enum Status: String, Sendable, Hashable, Codable {
        case active, retiring, retired
    }

    public var kid: String
    public var alg: JWTAlgorithm
    public var status: Status
    public var created: Date
    /// When a retiring key stops verifying (the end of the rotation overlap).
    public var retireAt: Date?

    public init(kid: String, alg: JWTAlgorithm, status: Status, created: Date, retireAt: Date? = nil) {
        self.kid = kid
        self.alg = alg
        self.status = status
        self.created = created
        self.retireAt = retireAt
    }

    enum CodingKeys: String, CodingKey {
        case kid, alg, status, created
        case retireAt = "retire_at"
    }

    /// Whether tokens signed with this key verify at `now` (and the key is published in the JWKS).
    public func verifies(at now: Date) -> Bool {
        switch status {
        case .active: true
        case .retiring: retireAt.map { now < $0 } ?? false
        case .retired: false
        }
    }

    /// Key ids are file names too: `[A-Za-z0-9_-]{1,64}`.
    public static func isValidKID(_ kid: String) -> Bool {
        (1...64).contains(kid.utf8.count) && kid.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }
}
