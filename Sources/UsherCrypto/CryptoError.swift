/// Errors thrown by UsherCrypto.
///
/// One struct wrapping a private code, so new cases never break callers; compare with the static members
/// (`#expect(throws: CryptoError.invalidKey)`). Messages are safe to show: they never contain key material.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalidKey
        case unsupportedKey
        case encryptedKey
        case weakSecret
        case signingFailed
        case openSSL
    }

    private let code: Code
    /// A short, secret-free explanation (may include OpenSSL's reason text).
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// Key material could not be parsed.
    public static let invalidKey = CryptoError(.invalidKey, "invalid key")
    /// The key's type does not fit the algorithm it was bound to.
    public static let unsupportedKey = CryptoError(.unsupportedKey, "key type does not match the algorithm")
    /// Encrypted PEM files are refused: a server must not prompt for pass phrases.
    public static let encryptedKey = CryptoError(.encryptedKey, "encrypted private keys are not supported")
    /// HMAC secrets shorter than 32 bytes are refused.
    public static let weakSecret = CryptoError(.weakSecret, "HMAC secret shorter than 32 bytes")
    /// A signature could not be produced.
    public static let signingFailed = CryptoError(.signingFailed, "signing failed")

    static func invalidKey(_ detail: String) -> CryptoError { CryptoError(.invalidKey, detail) }
    static func unsupportedKey(_ detail: String) -> CryptoError { CryptoError(.unsupportedKey, detail) }
    static func openSSL(_ what: String) -> CryptoError { CryptoError(.openSSL, "\(what): \(OpenSSLErrors.drain())") }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }
    public var description: String { detail }
}
