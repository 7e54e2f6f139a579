import ArgumentParser
import UsherServer

/// A failure reported as `Error: <message>` with exit code 1; messages never contain secrets.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }

    /// Runs `body`, turning a server-layer error into its message.
    @discardableResult
    static func wrap<R>(_ body: () throws(ServerError) -> R) throws(CLIError) -> R {
        do { return try body() } catch { throw CLIError(error.message) }
    }
}
