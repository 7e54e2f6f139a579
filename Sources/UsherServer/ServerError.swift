/// Errors raised by the server layer: request handling, configuration and the key directory.
///
/// One struct wrapping a private code (compare with the static members); `message` is safe to send to clients and
/// never contains a secret or a token. The HTTP status mapping lives in `ServerError+HTTPResponseError.swift`.
public struct ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case malformedRequest, unknownApp, missingIdentity, invalidIdentity, expiredIdentity
        case invalidConfiguration, keyDirectory, appExists
    }

    let code: Code
    /// A short, client-safe explanation.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
    public static func == (lhs: ServerError, rhs: ServerError) -> Bool { lhs.code == rhs.code }

    /// The request body or parameters cannot be understood.
    public static let malformedRequest = ServerError(.malformedRequest, "malformed request")
    /// No configured app matches the request's app key or id.
    public static let unknownApp = ServerError(.unknownApp, "unknown app")
    /// No identity token was presented.
    public static let missingIdentity = ServerError(.missingIdentity, "missing identity token")
    /// The identity token failed verification.
    public static let invalidIdentity = ServerError(.invalidIdentity, "invalid identity token")
    /// The identity token has expired.
    public static let expiredIdentity = ServerError(.expiredIdentity, "identity token expired")
    /// The configuration file is invalid; the message names the field.
    public static let invalidConfiguration = ServerError(.invalidConfiguration, "invalid configuration")
    /// The key directory is unusable (permissions, unreadable or corrupt files).
    public static let keyDirectory = ServerError(.keyDirectory, "key directory error")
    /// An app with that id already exists.
    public static let appExists = ServerError(.appExists, "app already exists")

    static func malformedRequest(_ message: String) -> ServerError { ServerError(.malformedRequest, message) }
    static func unknownApp(_ message: String) -> ServerError { ServerError(.unknownApp, message) }
    public static func invalidConfiguration(_ message: String) -> ServerError { ServerError(.invalidConfiguration, message) }
    public static func keyDirectory(_ message: String) -> ServerError { ServerError(.keyDirectory, message) }
    static func appExists(_ id: String) -> ServerError { ServerError(.appExists, "app \(id) already exists") }
}
