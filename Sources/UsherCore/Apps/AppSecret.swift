public import Foundation
public import UsherCrypto

/// One app secret, usable until its optional `notAfter`, so secrets can rotate with overlap.
///
/// Security: the secret's text is the HMAC key (Pusher SDKs use its UTF-8 bytes). `description` and
/// `debugDescription` redact it so it never reaches a log by accident.
public struct AppSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A short name for the secret, unique within its app.
    public let id: String
    /// The secret text as SDKs are configured with it.
    public let secret: String
    /// When the secret was created.
    public let created: Date
    /// The instant from which the secret is no longer accepted; nil means no end set.
    public let notAfter: Date?
    /// The HMAC key over the secret's UTF-8 bytes, built once.
    public let hmacKey: HMACKey

    /// Creates a secret.
    public init(id: String, secret: String, created: Date, notAfter: Date? = nil) {
        self.id = id
        self.secret = secret
        self.created = created
        self.notAfter = notAfter
        self.hmacKey = HMACKey(secret: Array(secret.utf8))
    }

    /// Whether the secret is still accepted at `now` (strictly before `notAfter`).
    public func isUsable(at now: Date) -> Bool {
        notAfter.map { now < $0 } ?? true
    }

    /// Compares every field except the derived ``hmacKey``.
    public static func == (lhs: AppSecret, rhs: AppSecret) -> Bool {
        lhs.id == rhs.id && lhs.secret == rhs.secret && lhs.created == rhs.created && lhs.notAfter == rhs.notAfter
    }

    /// The id and dates, with the secret redacted.
    public var description: String {
        let end = notAfter.map(String.init(describing:)) ?? "nil"
        return "AppSecret(id: \(id), secret: <redacted>, created: \(created), notAfter: \(end))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }
}
