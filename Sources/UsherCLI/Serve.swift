import ArgumentParser
import Foundation
import Hummingbird
import Logging
import UsherCore
import UsherServer

/// `usher serve`: runs the HTTP service until SIGINT/SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Usher HTTP service.",
        discussion: """
            Examples:
              usher serve --dev                                        # local development: dev app, anonymous users
              usher serve --config usher.yaml --keys /etc/usher/keys --host 0.0.0.0
              USHER_STORE=postgres://usher:secret@db/usher usher serve --config usher.yaml   # several instances
            """
    )

    @Option(help: "YAML configuration file (env USHER_CONFIG).")
    var config: String?
    @Option(help: "Key directory (env USHER_KEYS; default keys).")
    var keys: String?
    @Option(help: "Address to bind (env USHER_HOST; default 127.0.0.1).")
    var host: String?
    @Option(help: "Port to bind (env USHER_PORT; default 8080).")
    var port: Int?
    @Option(help: "NIO event loop threads (default: one per core).")
    var threads: Int?
    @Option(help: "Presence store: memory (default) or postgres://user:pass@host/db (env USHER_STORE).")
    var store: String?
    @Flag(help: "Development mode: create a dev app if none exists and allow anonymous subscribers.")
    var dev = false
    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.bootstrap(label: "usher")
        do {
            let configuration = try resolvedConfiguration()
            if configuration.dev { try DevApp.ensure(keysDirectory: configuration.keysDirectory) }
            let app = try buildApplication(configuration: configuration, logger: logger)
            try await app.runService()
        } catch let error as ServerError {
            throw CLIError(error.message)
        }
    }

    /// Defaults, then the configuration file, then `USHER_*` variables, then flags.
    private func resolvedConfiguration() throws(ServerError) -> UsherConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = UsherConfiguration()
        if let path = config ?? environment["USHER_CONFIG"] {
            try ConfigurationLoader.load(file: path, into: &configuration)
        }
        if let value = environment["USHER_KEYS"] { configuration.keysDirectory = value }
        if let value = environment["USHER_HOST"] { configuration.host = value }
        if let value = environment["USHER_PORT"] {
            guard let port = Int(value) else { throw .invalidConfiguration("USHER_PORT: expected an integer") }
            configuration.port = port
        }
        if let value = environment["USHER_STORE"] { configuration.store.select(value) }
        if let store { configuration.store.select(store) }
        if let keys { configuration.keysDirectory = keys }
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let threads {
            guard threads > 0 else { throw .invalidConfiguration("--threads: must be at least 1") }
            configuration.eventLoopThreads = threads
        }
        configuration.dev = dev || environment["USHER_DEV"] == "1"
        return configuration
    }
}
