public import Foundation
import UsherCrypto

/// One Pusher-compatible app: its public key, rotating secrets and optional encryption master key.
///
/// Security: `description` redacts the secrets and the master key.
public struct App: Sendable, Equatable, CustomStringConvertible {
    /// The app id used in HTTP API paths.
    public let id: String
    /// The public key clients and SDKs identify the app by.
    public let key: String
    /// A human-readable name.
    public let name: String?
    /// Every secret on record, including retiring ones.
    public let secrets: [AppSecret]
    /// The 32-byte master key for `private-encrypted-` channels, if enabled.
    public let encryptionMasterKey: [UInt8]?

    /// Creates an app after validating it.
    ///
    /// Secrets are not held to the 32-character minimum of ``generate(id:key:secret:name:now:)`` so apps imported
    /// from Pusher (20-character secrets) keep working.
    /// - Throws: ``CoreError/invalidAppID``, ``CoreError/invalidAppKey``, ``CoreError/invalidAppSecrets`` (none,
    ///   an empty one, or a repeated id) or ``CoreError/invalidEncryptionMasterKey``.
    public init(
        id: String, key: String, name: String? = nil, secrets: [AppSecret], encryptionMasterKey: [UInt8]? = nil
    ) throws(CoreError) {
        guard Self.isIdentifier(id, length: 1...64) else { throw .invalidAppID }
        guard Self.isIdentifier(key, length: 8...64) else { throw .invalidAppKey }
        guard !secrets.isEmpty, !secrets.contains(where: { $0.secret.isEmpty || $0.id.isEmpty }),
            Set(secrets.map(\.id)).count == secrets.count
        else { throw .invalidAppSecrets }
        if let encryptionMasterKey, encryptionMasterKey.count != 32 { throw .invalidEncryptionMasterKey }
        self.id = id
        self.key = key
        self.name = name
        self.secrets = secrets
        self.encryptionMasterKey = encryptionMasterKey
    }

    /// The secret to sign with at `now`: the newest usable one without an end date, else the newest usable one.
    ///
    /// A secret given a `notAfter` is being retired, so a fresh secret without one takes over signing at once
    /// while the retiring one still verifies.
    public func signingSecret(at now: Date) -> AppSecret? {
        let usable = verifyingSecrets(at: now)
        let open = usable.filter { $0.notAfter == nil }
        return (open.isEmpty ? usable : open).max { $0.created < $1.created }
    }

    /// Every secret accepted at `now`: those not past their `notAfter`.
    public func verifyingSecrets(at now: Date) -> [AppSecret] {
        secrets.filter { $0.isUsable(at: now) }
    }

    /// A signer using ``signingSecret(at:)``.
    ///
    /// - Throws: ``CoreError/noUsableSecret`` when every secret is past its `notAfter`.
    public func authorizer(at now: Date) throws(CoreError) -> ChannelAuthorizer {
        guard let secret = signingSecret(at: now) else { throw .noUsableSecret }
        return try ChannelAuthorizer(appKey: key, secret: secret.hmacKey, encryptionMasterKey: encryptionMasterKey)
    }

    /// A verifier accepting every secret in ``verifyingSecrets(at:)``.
    public func verifier(at now: Date) -> ChannelAuthVerifier {
        // One pass and one array: a relay join makes a verifier per call.
        var keys: [HMACKey] = []
        keys.reserveCapacity(secrets.count)
        for secret in secrets where secret.isUsable(at: now) { keys.append(secret.hmacKey) }
        return ChannelAuthVerifier(appKey: key, secrets: keys)
    }

    /// The id, key and name, with secrets and master key left out.
    public var description: String {
        let encrypted = encryptionMasterKey != nil
        return "App(id: \(id), key: \(key), name: \(name ?? "nil"), secrets: \(secrets.map(\.id)), encrypted: \(encrypted))"
    }

    /// Whether `text` is `[A-Za-z0-9_-]` within `length`, checked on bytes so non-ASCII never passes.
    static func isIdentifier(_ text: String, length: ClosedRange<Int>) -> Bool {
        length.contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
    }
}
