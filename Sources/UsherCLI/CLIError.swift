import ArgumentParser

/// A failure reported as `Error: <message>` with exit code 1; messages never contain secrets.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
