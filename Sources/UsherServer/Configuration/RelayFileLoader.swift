import Foundation

/// `relay.yaml`, the `usher relay` configuration file (`--config`): the same conventions as `usher.yaml` (strict
/// fields, errors naming the field, relative paths from the file's folder). Every field is optional; the command
/// applies the file, then `USHER_*` variables, then flags.
///
/// ```yaml
/// usher: { url: https://usher.internal:8443, token_file: keys/relay.token, ca_file: tls/internal-ca.pem }
/// keys: /var/lib/usher/keys
/// server: { host: 0.0.0.0, port: 6001, event_loop_threads: 4, tls: { cert_file: tls/fullchain.pem, key_file: tls/privkey.pem } }
/// node: { id: relay-a, forward_url: "https://relay-a.internal:6001", heartbeat_seconds: 5 }
/// clients: { activity_timeout_seconds: 120, pong_timeout_seconds: 30, max_connection_rate: 50 }
/// ```
public struct RelayFileSettings: Sendable, Equatable {
    public var usherURL: String?
    public var relayTokenFile: String?
    public var trustedCAFile: String?
    public var keysDirectory: String?
    public var host: String?
    public var port: Int?
    public var eventLoopThreads: Int?
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var node: String?
    public var forwardURL: String?
    public var peers: [String]?
    public var heartbeatSeconds: Int?
    public var activityTimeoutSeconds: Int?
    public var pongTimeoutSeconds: Int?
    public var maxConnectionRate: Int?

    public init() {}

    private enum Fields {
        static let top: Set<String> = ["usher", "keys", "server", "node", "clients"]
        static let usher: Set<String> = ["url", "token_file", "ca_file"]
        static let server: Set<String> = ["host", "port", "event_loop_threads", "tls"]
        static let tls: Set<String> = ["cert_file", "key_file"]
        static let node: Set<String> = ["id", "forward_url", "peers", "heartbeat_seconds"]
        static let clients: Set<String> = ["activity_timeout_seconds", "pong_timeout_seconds", "max_connection_rate"]
    }

    /// Every field's dotted path, for the documentation's table and its test.
    public static var fields: [String] {
        func under(_ prefix: String, _ names: Set<String>) -> [String] { names.sorted().map { prefix + $0 } }
        return under("usher.", Fields.usher) + ["keys"] + under("server.", Fields.server.subtracting(["tls"]))
            + under("server.tls.", Fields.tls) + under("node.", Fields.node) + under("clients.", Fields.clients)
    }

    /// Reads the file at `path`.
    ///
    /// - Throws: ``ServerError/invalidConfiguration(_:)`` naming the file or the field.
    public static func load(file path: String) throws(ServerError) -> RelayFileSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfiguration("cannot read the relay configuration file \(path)")
        }
        let base = (path as NSString).deletingLastPathComponent
        return try load(yaml: String(decoding: data, as: UTF8.self), baseDirectory: base.isEmpty ? "." : base)
    }

    /// Parses YAML `text`; relative paths are resolved against `baseDirectory`.
    public static func load(yaml text: String, baseDirectory: String) throws(ServerError) -> RelayFileSettings {
        var settings = RelayFileSettings()
        guard let root = try ConfigNode.parse(yaml: text) else { return settings }
        func path(_ node: ConfigNode) throws(ServerError) -> String {
            let given = try node.string()
            return given.hasPrefix("/") ? given : baseDirectory + "/" + given
        }
        func url(_ node: ConfigNode) throws(ServerError) -> String {
            let text = try node.string()
            guard let parsed = URL(string: text), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw node.fail("expected an http or https URL")
            }
            return text
        }
        let top = try root.mapping(allowed: Fields.top)
        if let usher = try top["usher"]?.mapping(allowed: Fields.usher) {
            if let value = usher["url"] { settings.usherURL = try url(value) }
            if let value = usher["token_file"] { settings.relayTokenFile = try path(value) }
            if let value = usher["ca_file"] { settings.trustedCAFile = try path(value) }
        }
        if let value = top["keys"] { settings.keysDirectory = try path(value) }
        if let server = try top["server"]?.mapping(allowed: Fields.server) {
            if let value = server["host"] { settings.host = try value.string() }
            if let value = server["port"] { settings.port = try value.int(in: 0...65535) }
            if let value = server["event_loop_threads"] { settings.eventLoopThreads = try value.int(in: 1...256) }
            if let tls = server["tls"] {
                let members = try tls.mapping(allowed: Fields.tls)
                guard let certificate = members["cert_file"], let key = members["key_file"] else {
                    throw tls.fail("cert_file and key_file are both required")
                }
                settings.tlsCertificate = try path(certificate)
                settings.tlsKey = try path(key)
            }
        }
        if let node = try top["node"]?.mapping(allowed: Fields.node) {
            if let value = node["id"] { settings.node = try value.string() }
            if let value = node["forward_url"] { settings.forwardURL = try url(value) }
            if let value = node["peers"] { settings.peers = try value.sequence().map { node throws(ServerError) in try url(node) } }
            if let value = node["heartbeat_seconds"] { settings.heartbeatSeconds = try value.int(in: 1...3600) }
        }
        if let clients = try top["clients"]?.mapping(allowed: Fields.clients) {
            if let value = clients["activity_timeout_seconds"] { settings.activityTimeoutSeconds = try value.int(in: 1...3600) }
            if let value = clients["pong_timeout_seconds"] { settings.pongTimeoutSeconds = try value.int(in: 1...3600) }
            if let value = clients["max_connection_rate"] { settings.maxConnectionRate = try value.int(in: 0...100_000) }
        }
        return settings
    }
}
