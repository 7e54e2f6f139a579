import Foundation
public import UsherCore
public import UsherNIO

/// Everything `usher relay` needs: where Usher is, how to authenticate to it, which apps it serves and its timings.
///
/// Security: holds the relay token and the apps' secrets; `description` redacts the token and lists only app ids.
public struct RelayConfiguration: Sendable, CustomStringConvertible {
    /// Address to bind.
    public var host: String = "127.0.0.1"
    /// Port to bind (WebSocket clients and the trigger API share it).
    public var port: Int = 6001
    /// Base URL of Usher, e.g. `http://127.0.0.1:8080`.
    public var usherURL: String = "http://127.0.0.1:8080"
    /// The bearer token presented to `/relay/v1/*` (the content of `keys/relay.token`).
    public var relayToken: String = ""
    /// This node's name in the relay API; unique per running relay.
    public var node: NodeID
    /// The apps clients may connect to (by key) and app servers may trigger on (by id).
    public var apps: [App] = []
    /// The key directory `apps` came from: its `apps/*.json` are reloaded when they change and on SIGHUP. Nil keeps
    /// `apps` as given.
    public var keysDirectory: String?
    /// Base URLs of the other relay nodes: events published here (trigger API, client events) are forwarded to them.
    /// Empty (the default): the peers are discovered through Usher's heartbeat answers.
    public var peers: [String] = []
    /// Where the other nodes reach this one to forward events, announced in every heartbeat; nil announces nothing
    /// (peers then cannot discover this node). `usher relay` defaults it to `http://<host>:<port>` for a specific host.
    public var forwardURL: String?
    /// Sent to clients in `pusher:connection_established`; after this long without a message the relay pings.
    public var activityTimeout: Duration = .seconds(120)
    /// How long a client has to answer the relay's `pusher:ping` before it is closed with 4201.
    public var pongTimeout: Duration = .seconds(30)
    /// How often the node heartbeat runs; Usher's lease (15 s by default) must be several times longer.
    public var heartbeatInterval: Duration = .seconds(5)
    /// Largest WebSocket message accepted from a client, and largest event `data` (Pusher's limit is 10 KB).
    public var maxMessageBytes: Int = 10 * 1024
    /// The longest channel name accepted (what the Pusher SDKs accept; Usher's own limit still applies).
    public var channelNameMaxLength: Int = ChannelName.defaultMaxLength
    /// Events per trigger or batch request and channels per trigger, as Pusher limits them.
    public var maxChannelsPerTrigger: Int = 100
    /// Largest batch accepted by `/batch_events`.
    public var maxBatchSize: Int = 10
    /// Messages queued for one slow client before it is closed with 4100 (over capacity).
    public var outboxLimit: Int = 1000
    /// Bytes queued for one slow client before it is closed with 4100: with `outboxLimit`, bounds what a client that
    /// never reads (but answers pings) holds.
    public var outboxByteLimit: Int = 1 << 20
    /// How long a client has to answer the relay's close (4009, 4201, 4100, 4200…) before the relay drops the socket.
    public var closeGrace: Duration = .seconds(3)
    /// Channels one connection may be subscribed to; further `pusher:subscribe`s get `LimitReached` 4100.
    public var maxSubscriptionsPerConnection: Int = 100
    /// How long a cache channel keeps its last triggered event (Pusher: 30 minutes).
    public var cacheTTL: Duration = .seconds(30 * 60)
    /// TLS for every connection (`wss://` and `https://` only), reloaded when the files change; nil serves plain.
    public var tls: TLSCertificates.Files?
    /// A CA certificate (PEM) trusted, besides the system's, for Usher's URL and the peers' forward URLs: for a
    /// deployment whose nodes use a private CA.
    public var trustedCAFile: String?
    /// How long a new connection has to send its whole first request head (the WebSocket upgrade, or an HTTP
    /// request; behind TLS the handshake counts too); a silent or trickling one is answered 408 and closed. 20 s,
    /// Apache `mod_reqtimeout`'s first header timeout: slow mobile links get through, idle sockets do not stay.
    public var handshakeTimeout: Duration = .seconds(20)
    /// New connections accepted per second from one client address (bursts of as many); more are answered 429 (over
    /// TLS: closed). 0, the default, sets no limit (behind a proxy every client has the proxy's address).
    public var newConnectionsPerSecondPerAddress: Int = 0
    /// How long a request body (trigger API) has from its head, plus a second per 500 bytes received; a slower one
    /// is answered 408 and its connection closed.
    public var requestBodyTimeout: Duration = .seconds(20)
    /// How long an HTTP (non-WebSocket) connection may sit idle between requests.
    public var httpIdleTimeout: Duration = .seconds(30)
    /// How long a graceful shutdown keeps sending frames queued for peers; what is left then is dropped and counted.
    public var peerDrainTimeout: Duration = .seconds(5)
    /// NIO event loop threads; `nil` uses NIO's shared group (one thread per core).
    public var eventLoopThreads: Int?

    /// A configuration for `node` with defaults for everything else.
    public init(node: NodeID) {
        self.node = node
    }

    /// The settings with the relay token redacted and apps named by id, safe for logs.
    public var description: String {
        "RelayConfiguration(node: \(node), host: \(host), port: \(port), usher: \(usherURL), apps: \(apps.map(\.id)), "
            + "peers: \(peers), forwardURL: \(forwardURL ?? "-"), relayToken: <redacted>)"
    }

    /// A node id from the host name and a random suffix, e.g. `relay-web1-3f9a2c`: unique enough that two relays
    /// started on one machine never share presence state by accident.
    public static func defaultNodeID() -> NodeID {
        let host = ProcessInfo.processInfo.hostName.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        // Both parts are drawn from the allowed alphabet and kept short, so validation cannot fail.
        return try! NodeID(validating: "relay-" + String(host.prefix(64)) + "-" + suffix)
    }
}
