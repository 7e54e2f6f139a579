import Foundation
import UsherCore
import UsherNIO
import UsherCrypto

/// Reads `usher.yaml` into an ``UsherConfiguration``, loading identity key files as it goes, so a missing file or a
/// bad value fails at start with a message naming the field.
public enum ConfigurationLoader {
    /// The fields each level of the file accepts: the loader checks against these lists, and `fields` (documented
    /// in docs/configuration.md, which a test keeps in step) is built from them.
    enum Fields {
        static let top: Set<String> = ["server", "apps", "relay", "tokens", "store"]
        static let server: Set<String> = [
            "host", "port", "max_body_bytes", "channel_name_max_length", "event_loop_threads", "api_timestamp_skew_seconds", "tls",
        ]
        static let tls: Set<String> = ["cert_file", "key_file"]
        static let tokens: Set<String> = ["issuer", "default_ttl_seconds", "max_ttl_seconds"]
        static let store: Set<String> = ["url", "pool_size", "retained_events", "timeout_ms"]
        static let relay: Set<String> = ["lease_ms", "grace_ms", "event_log_size", "keepalive_seconds", "subscription_count_interval_ms"]
        static let app: Set<String> = [
            "id", "identity", "channels", "presence", "cors", "webhooks", "client_events", "subscription_count", "watchlist", "max_connections",
        ]
        static let identity: Set<String> = [
            "hs256_secret_file", "public_key_file", "algorithm", "jwks_file", "issuer", "audience", "leeway_seconds", "cookie",
        ]
        static let channelRule: Set<String> = ["match", "require"]
        static let presence: Set<String> = ["max_members", "max_user_info_bytes", "max_user_id_length"]
        static let cors: Set<String> = ["origins"]
        static let webhooks: Set<String> = ["url", "events", "batch_ms", "batch_max"]
        static let clientEvents: Set<String> = ["per_second"]
        static let watchlist: Set<String> = ["enabled", "max_ids"]
    }

    /// Every field the file accepts, as dotted paths (`apps[].identity.cookie`; `require` takes any claim names).
    public static var fields: [String] {
        func under(_ prefix: String, _ names: Set<String>) -> [String] { names.sorted().map { prefix + $0 } }
        let nested: [String: [String]] = [
            "identity": under("apps[].identity.", Fields.identity), "channels": under("apps[].channels[].", Fields.channelRule),
            "presence": under("apps[].presence.", Fields.presence), "cors": under("apps[].cors.", Fields.cors),
            "webhooks": under("apps[].webhooks.", Fields.webhooks), "client_events": under("apps[].client_events.", Fields.clientEvents),
            "watchlist": under("apps[].watchlist.", Fields.watchlist),
        ]
        return under("server.", Fields.server.subtracting(["tls"])) + under("server.tls.", Fields.tls) + under("tokens.", Fields.tokens) + under("store.", Fields.store)
            + under("relay.", Fields.relay) + Fields.app.sorted().flatMap { nested[$0] ?? ["apps[].\($0)"] }
    }

    /// Parses YAML `text`; relative file paths are resolved against `baseDirectory` (the config file's folder).
    public static func load(yaml text: String, baseDirectory: String, into configuration: inout UsherConfiguration) throws(ServerError) {
        guard let root = try ConfigNode.parse(yaml: text) else { return }
        let top = try root.mapping(allowed: Fields.top)
        if let tokens = try top["tokens"]?.mapping(allowed: Fields.tokens) {
            if let value = tokens["issuer"] { configuration.tokens.issuer = try value.string() }
            if let value = tokens["max_ttl_seconds"] { configuration.tokens.maxTTLSeconds = try value.int(in: 1...86_400 * 30) }
            if let value = tokens["default_ttl_seconds"] {
                configuration.tokens.defaultTTLSeconds = try value.int(in: 1...configuration.tokens.maxTTLSeconds)
            }
        }
        if let store = try top["store"]?.mapping(allowed: Fields.store) {
            if let value = store["url"] { configuration.store.select(try value.string()) }
            if let value = store["pool_size"] { configuration.store.poolSize = try value.int(in: 1...200) }
            if let value = store["retained_events"] { configuration.store.retainedEvents = try value.int(in: 100...100_000_000) }
            if let value = store["timeout_ms"] { configuration.store.timeout = .milliseconds(try value.int(in: 50...60_000)) }
        }
        if let relay = try top["relay"]?.mapping(allowed: Fields.relay) {
            if let value = relay["lease_ms"] { configuration.presence.leaseMillis = Int64(try value.int(in: 1000...3_600_000)) }
            if let value = relay["grace_ms"] { configuration.presence.graceMillis = Int64(try value.int(in: 0...600_000)) }
            if let value = relay["event_log_size"] { configuration.eventLogCapacity = try value.int(in: 100...10_000_000) }
            if let value = relay["keepalive_seconds"] { configuration.sseKeepAlive = .seconds(try value.int(in: 1...300)) }
            if let value = relay["subscription_count_interval_ms"] {
                configuration.subscriptionCountInterval = .milliseconds(try value.int(in: 100...600_000))
            }
        }
        if let server = try top["server"]?.mapping(allowed: Fields.server) {
            if let skew = server["api_timestamp_skew_seconds"] { configuration.apiTimestampSkew = Double(try skew.int(in: 1...86_400)) }
            if let host = server["host"] { configuration.host = try host.string() }
            if let port = server["port"] { configuration.port = try port.int(in: 0...65535) }
            if let max = server["max_body_bytes"] { configuration.maxBodyBytes = try max.int(in: 1024...(1 << 20)) }
            if let max = server["channel_name_max_length"] { configuration.channelNameMaxLength = try max.int(in: 1...1000) }
            if let threads = server["event_loop_threads"] { configuration.eventLoopThreads = try threads.int(in: 1...256) }
            if let tls = server["tls"] {
                let members = try tls.mapping(allowed: Fields.tls)
                guard let certificate = members["cert_file"], let key = members["key_file"] else {
                    throw tls.fail("cert_file and key_file are both required")
                }
                func path(_ node: ConfigNode) throws(ServerError) -> String {
                    let given = try node.string()
                    return given.hasPrefix("/") ? given : baseDirectory + "/" + given
                }
                configuration.tls = .init(certificateChain: try path(certificate), privateKey: try path(key))
            }
        }
        let apps = try top["apps"]?.sequence() ?? []
        configuration.apps = try apps.map { (node: ConfigNode) throws(ServerError) -> AppSettings in
            try app(node, baseDirectory: baseDirectory)
        }
        var seen = Set<String>()
        for (index, app) in configuration.apps.enumerated() where !seen.insert(app.id).inserted {
            throw .invalidConfiguration("apps[\(index)].id: app \"\(app.id)\" is listed twice")
        }
    }

    /// Reads the file at `path` (see ``load(yaml:baseDirectory:into:)``).
    public static func load(file path: String, into configuration: inout UsherConfiguration) throws(ServerError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .invalidConfiguration("cannot read configuration file \(path)")
        }
        let base = (path as NSString).deletingLastPathComponent
        try load(yaml: text, baseDirectory: base.isEmpty ? "." : base, into: &configuration)
    }

    private static func app(_ node: ConfigNode, baseDirectory: String) throws(ServerError) -> AppSettings {
        let members = try node.mapping(allowed: Fields.app)
        guard let idNode = members["id"] else { throw node.fail("missing field \"id\"") }
        var settings = AppSettings(id: try idNode.string())
        if let identity = members["identity"] { settings.identity = try self.identity(identity, baseDirectory: baseDirectory) }
        if let channels = members["channels"] {
            settings.channelRules = try channels.sequence().map { (rule: ConfigNode) throws(ServerError) -> ChannelRule in
                try channelRule(rule)
            }
            do { _ = try ChannelPolicy(rules: settings.channelRules) } catch { throw channels.fail(error.message) }
        }
        if let presence = try members["presence"]?.mapping(allowed: Fields.presence) {
            if let value = presence["max_members"] { settings.presence.maxMembers = try value.int(in: 1...1_000_000) }
            if let value = presence["max_user_info_bytes"] { settings.presence.maxUserInfoBytes = try value.int(in: 2...65536) }
            if let value = presence["max_user_id_length"] { settings.presence.maxUserIDLength = try value.int(in: 1...1024) }
        }
        if let cors = try members["cors"]?.mapping(allowed: Fields.cors) {
            settings.corsOrigins = try cors["origins"]?.strings() ?? []
        }
        if let webhooks = members["webhooks"] { settings.webhooks = try self.webhooks(webhooks) }
        if let value = members["subscription_count"] { settings.subscriptionCount = try value.bool() }
        if let value = members["max_connections"] { settings.maxConnections = try value.int(in: 1...100_000_000) }
        if let watchlist = try members["watchlist"]?.mapping(allowed: Fields.watchlist) {
            let maxIDs = try watchlist["max_ids"]?.int(in: 1...UserData.maxWatchlistCount) ?? UserData.maxWatchlistCount
            let enabled = try watchlist["enabled"]?.bool() ?? true
            settings.watchlistMaxIDs = enabled ? maxIDs : nil
        }
        if let clientEvents = try members["client_events"]?.mapping(allowed: Fields.clientEvents) {
            if let value = clientEvents["per_second"] { settings.clientEventsPerSecond = try value.int(in: 1...1000) }
        }
        return settings
    }

    private static func webhooks(_ node: ConfigNode) throws(ServerError) -> WebhookSettings {
        let members = try node.mapping(allowed: Fields.webhooks)
        guard let urlNode = members["url"] else { throw node.fail("missing field \"url\"") }
        let url = try urlNode.string()
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
            throw urlNode.fail("expected an http or https URL")
        }
        var settings = WebhookSettings(url: url)
        if let events = members["events"] {
            let allowed: Set<StreamEvent.Kind> = [
                .memberAdded, .memberRemoved, .channelOccupied, .channelVacated, .subscriptionCount, .clientEvent, .cacheMiss,
            ]
            settings.events = try Set(events.strings().map { (name: String) throws(ServerError) -> StreamEvent.Kind in
                guard let kind = StreamEvent.Kind(rawValue: name), allowed.contains(kind) else {
                    throw events.fail("unknown event \"\(name)\" (expected member_added, member_removed, channel_occupied, channel_vacated, subscription_count, client_event, cache_miss)")
                }
                return kind
            })
        }
        if let value = members["batch_ms"] { settings.batchMillis = try value.int(in: 0...60_000) }
        if let value = members["batch_max"] { settings.batchMax = try value.int(in: 1...1000) }
        return settings
    }

    private static func channelRule(_ node: ConfigNode) throws(ServerError) -> ChannelRule {
        let members = try node.mapping(allowed: Fields.channelRule)
        guard let match = members["match"] else { throw node.fail("missing field \"match\"") }
        var require: [String: [String]] = [:]
        if let requirements = members["require"] {
            let claims = try requirements.mapping(allowed: nil)
            for (claim, values) in claims { require[claim] = try values.strings() }
        }
        return ChannelRule(pattern: try match.string(), require: require)
    }

    private static func identity(_ node: ConfigNode, baseDirectory: String) throws(ServerError) -> IdentitySettings {
        let members = try node.mapping(allowed: Fields.identity)
        let sources = ["hs256_secret_file", "public_key_file", "jwks_file"].filter { members[$0] != nil }
        guard sources.count == 1 else { throw node.fail("exactly one of hs256_secret_file, public_key_file, jwks_file is required") }
        let keys = try IdentityKeyLoader.keys(from: members, baseDirectory: baseDirectory)
        var settings = IdentitySettings(keys: keys)
        settings.issuer = try members["issuer"]?.string()
        settings.audience = try members["audience"]?.string()
        if let leeway = members["leeway_seconds"] { settings.leewaySeconds = try leeway.int(in: 0...600) }
        settings.cookie = try members["cookie"]?.string()
        return settings
    }
}
