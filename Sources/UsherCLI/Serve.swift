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
              usher serve --tls-cert /etc/usher/tls/fullchain.pem --tls-key /etc/usher/tls/privkey.pem --port 8443
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
    @Option(help: "TLS certificate chain, PEM (env USHER_TLS_CERT); with --tls-key, serves HTTPS only.")
    var tlsCert: String?
    @Option(help: "TLS private key, PEM, unencrypted (env USHER_TLS_KEY).")
    var tlsKey: String?
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
        let certificate = tlsCert ?? environment["USHER_TLS_CERT"] ?? configuration.tls?.certificateChain
        let key = tlsKey ?? environment["USHER_TLS_KEY"] ?? configuration.tls?.privateKey
        switch (certificate, key) {
        case (let certificate?, let key?): configuration.tls = .init(certificateChain: certificate, privateKey: key)
        case (nil, nil): break
        default: throw .invalidConfiguration("TLS needs both a certificate chain (--tls-cert) and its key (--tls-key)")
        }
        if let threads {
            guard threads > 0 else { throw .invalidConfiguration("--threads: must be at least 1") }
            configuration.eventLoopThreads = threads
        }
        configuration.dev = dev || environment["USHER_DEV"] == "1"
        return configuration
    }
}
