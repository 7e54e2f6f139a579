import ArgumentParser
import Foundation
import Logging
import UsherCore
import UsherRelay
import UsherServer

/// `usher relay`: runs the reference Pusher-protocol WebSocket relay against an Usher instance.
struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the reference Pusher-protocol WebSocket relay.",
        discussion: """
            Clients connect to ws://HOST:PORT/app/<key>?protocol=7; app servers trigger events with POST /apps/<id>/events \
            (signed like the Pusher HTTP API). Subscriptions, sign-ins and presence are decided by Usher through its relay API.

            Nodes find each other through Usher: each announces where it takes forwarded events (--forward-url) in its \
            heartbeat and learns the other live nodes from the answer. --peer fixes the list instead.

            Example (two nodes that discover each other, then one with a fixed peer):
              usher relay --keys keys --port 6001 --node relay-a
              usher relay --keys keys --port 6002 --node relay-b --forward-url http://10.0.0.2:6002
              usher relay --keys keys --port 6003 --node relay-c --peer http://127.0.0.1:6001
              usher relay --keys keys --host relay1.example.com --port 443 --tls-cert fullchain.pem --tls-key privkey.pem
              usher relay --config /etc/usher/relay.yaml
            """
    )

    @Option(help: "YAML configuration file (env USHER_RELAY_CONFIG); variables and flags override it (docs/relay.md).")
    var config: String?
    @Option(help: "Base URL of Usher (env USHER_URL; default http://127.0.0.1:8080).")
    var usher: String?
    @Option(help: "File holding the relay token (env USHER_RELAY_TOKEN_FILE; default <keys>/relay.token). USHER_RELAY_TOKEN holds the token itself.")
    var relayTokenFile: String?
    @Option(help: "Key directory whose apps/*.json the relay serves (env USHER_KEYS; default keys).")
    var keys: String?
    @Option(help: "Address to bind (env USHER_RELAY_HOST; default 127.0.0.1).")
    var host: String?
    @Option(help: "Port to bind (env USHER_RELAY_PORT; default 6001).")
    var port: Int?
    @Option(help: "Node id in the relay API, unique per running relay (default relay-<hostname>-<random>).")
    var node: String?
    @Option(name: .customLong("peer"), help: "Base URL of another relay node to forward published events to (repeatable); turns peer discovery off.")
    var peers: [String] = []
    @Option(help: "URL the other nodes reach this one at, announced to Usher (env USHER_RELAY_FORWARD_URL; default http(s)://HOST:PORT unless HOST binds every address).")
    var forwardURL: String?
    @Option(help: "Seconds of client silence before the relay pings (sent as activity_timeout; default 120).")
    var activityTimeout: DurationArgument?
    @Option(help: "Seconds a client has to answer a ping before it is closed with 4201 (default 30).")
    var pongTimeout: DurationArgument?
    @Option(help: "Seconds between node heartbeats to Usher (default 5; keep well under Usher's lease).")
    var heartbeat: DurationArgument?
    @Option(help: "TLS certificate chain, PEM (env USHER_RELAY_TLS_CERT); with --tls-key, serves wss:// and https:// only.")
    var tlsCert: String?
    @Option(help: "TLS private key, PEM, unencrypted (env USHER_RELAY_TLS_KEY).")
    var tlsKey: String?
    @Option(help: "CA certificate (PEM) to trust, besides the system's, for Usher's and the peers' https URLs (env USHER_RELAY_TLS_CA).")
    var tlsCA: String?
    @Option(help: "New connections accepted per second from one client address; more are answered 429 (default 0: no limit).")
    var maxConnectionRate: Int?
    @Option(help: "NIO event loop threads (default: one per core).")
    var threads: Int?
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard [activityTimeout, pongTimeout, heartbeat].allSatisfy({ ($0?.seconds ?? 1) > 0 }) else {
            throw ValidationError("--activity-timeout, --pong-timeout and --heartbeat must be at least 1s")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard (0...100_000).contains(maxConnectionRate ?? 0) else { throw ValidationError("--max-connection-rate must be 0 to 100000") }
    }

    func run() async throws {
        let logger = log.bootstrap(label: "usher-relay")
        do {
            let configuration = try resolvedConfiguration()
            logger.info("relay starting", metadata: [
                "usher.node": "\(configuration.node)", "usher.url": "\(configuration.usherURL)",
                "usher.apps": "\(configuration.apps.map(\.id))",
                "usher.peers": "\(configuration.peers.isEmpty ? "discovered through usher" : "\(configuration.peers)")",
                "usher.forward_url": "\(configuration.forwardURL ?? "none: peers cannot discover this node")",
            ])
            try await buildRelay(configuration: configuration, logger: logger).runService()
        } catch let error as RelayError {
            throw CLIError(error.description)
        } catch let error as ServerError {
            throw CLIError(error.message)
        }
    }

    /// Defaults, then the configuration file, then environment variables, then flags.
    private func resolvedConfiguration() throws -> RelayConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = try (config ?? environment["USHER_RELAY_CONFIG"]).map { path throws(ServerError) in try RelayFileSettings.load(file: path) }
            ?? RelayFileSettings()
        let nodeID: NodeID
        if let node = node ?? file.node {
            guard let valid = try? NodeID(validating: node) else { throw CLIError("--node: 1 to 128 characters of A-Z a-z 0-9 _ . : -") }
            nodeID = valid
        } else {
            nodeID = RelayConfiguration.defaultNodeID()
        }
        var configuration = RelayConfiguration(node: nodeID)
        let keyDirectory = keys ?? environment["USHER_KEYS"] ?? file.keysDirectory ?? "keys"
        configuration.apps = try RelayKeys.loadApps(from: keyDirectory)
        configuration.keysDirectory = keyDirectory
        if let token = environment["USHER_RELAY_TOKEN"], relayTokenFile == nil {
            configuration.relayToken = token.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            configuration.relayToken = try RelayKeys.loadToken(
                from: relayTokenFile ?? environment["USHER_RELAY_TOKEN_FILE"] ?? file.relayTokenFile ?? keyDirectory + "/relay.token")
        }
        configuration.usherURL = usher ?? environment["USHER_URL"] ?? file.usherURL ?? configuration.usherURL
        configuration.host = host ?? environment["USHER_RELAY_HOST"] ?? file.host ?? configuration.host
        if let port {
            configuration.port = port
        } else if let text = environment["USHER_RELAY_PORT"] {
            guard let value = Int(text) else { throw CLIError("USHER_RELAY_PORT: expected an integer") }
            configuration.port = value
        } else if let port = file.port {
            configuration.port = port
        }
        configuration.peers = peers.isEmpty ? file.peers ?? [] : peers
        switch (
            tlsCert ?? environment["USHER_RELAY_TLS_CERT"] ?? file.tlsCertificate, tlsKey ?? environment["USHER_RELAY_TLS_KEY"] ?? file.tlsKey
        ) {
        case (let certificate?, let key?): configuration.tls = .init(certificateChain: certificate, privateKey: key)
        case (nil, nil): break
        default: throw CLIError("TLS needs both a certificate chain (--tls-cert) and its key (--tls-key)")
        }
        configuration.trustedCAFile = tlsCA ?? environment["USHER_RELAY_TLS_CA"] ?? file.trustedCAFile
        if let url = forwardURL ?? environment["USHER_RELAY_FORWARD_URL"] ?? file.forwardURL {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw CLIError("--forward-url: expected an http or https URL")
            }
            configuration.forwardURL = url
        } else if !["0.0.0.0", "::", ""].contains(configuration.host) {
            let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
            configuration.forwardURL = "\(configuration.tls == nil ? "http" : "https")://\(host):\(configuration.port)"
        }
        configuration.activityTimeout = activityTimeout?.duration ?? file.activityTimeoutSeconds.map { .seconds($0) } ?? .seconds(120)
        configuration.pongTimeout = pongTimeout?.duration ?? file.pongTimeoutSeconds.map { .seconds($0) } ?? .seconds(30)
        configuration.heartbeatInterval = heartbeat?.duration ?? file.heartbeatSeconds.map { .seconds($0) } ?? .seconds(5)
        configuration.eventLoopThreads = threads ?? file.eventLoopThreads
        configuration.newConnectionsPerSecondPerAddress = maxConnectionRate ?? file.maxConnectionRate ?? 0
        return configuration
    }
}
