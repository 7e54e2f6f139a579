import Foundation

/// Runs the `openssl` command-line tool: an independent second implementation to sign, verify and make
/// keys our API refuses to create (encrypted, 1024-bit RSA, other curves). Tests needing it are skipped,
/// visibly, when it is not installed.
enum OpenSSLTool {
    static let path: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var isAvailable: Bool { path != nil }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `openssl arguments…` in `directory` and returns its standard output.
    @discardableResult
    static func run(_ arguments: [String], in directory: URL? = nil) throws -> [UInt8] {
        guard let path else { throw Failure(description: "openssl is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
        return Array(bytes)
    }

    /// Runs and returns standard output as text (PEM).
    static func text(_ arguments: [String], in directory: URL? = nil) throws -> String {
        String(decoding: try run(arguments, in: directory), as: UTF8.self)
    }

    /// A fresh scratch directory, removed after `body`.
    static func withScratchDirectory<R>(_ body: (URL) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("usher-crypto-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }

    /// Writes `text` to `name` inside `directory`.
    static func write(_ bytes: some Sequence<UInt8>, to name: String, in directory: URL) throws {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
    }
}
