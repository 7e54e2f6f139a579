/// Why the relay could not start or an Usher call failed; messages never include a secret.
public struct RelayError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case configuration
        case usher
    }

    private let code: Code
    /// What went wrong, for logs and the CLI.
    public let description: String

    /// Invalid flags, files or key directory.
    public static func configuration(_ message: String) -> RelayError { RelayError(code: .configuration, description: message) }
    /// Usher answered something unexpected or could not be reached.
    public static func usher(_ message: String) -> RelayError { RelayError(code: .usher, description: message) }

}
