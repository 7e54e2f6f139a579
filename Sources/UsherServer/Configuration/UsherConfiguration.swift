public import UsherCore
public import UsherNIO

/// Everything `usher serve` needs, from defaults, then the YAML file, then command-line flags.
public struct UsherConfiguration: Sendable {
    /// Address to bind.
    public var host: String = "127.0.0.1"
    /// Port to bind.
    public var port: Int = 8080
    /// The key directory (`keys/` by default).
    public var keysDirectory: String = "keys"
    /// Development mode: a dev app is created if none exists and anonymous subscribers are allowed.
    public var dev: Bool = false
    /// Per-app settings.
    public var apps: [AppSettings] = []
    /// Request bodies above this size get 413.
    public var maxBodyBytes: Int = 16 * 1024
    /// The longest channel name accepted (Pusher SDKs accept 200).
    public var channelNameMaxLength: Int = 200
    /// NIO event loop threads; `nil` uses NIO's shared group (one thread per core).
    public var eventLoopThreads: Int?
    /// Largest accepted difference between an HTTP API request's `auth_timestamp` and the server clock, in seconds.
    public var apiTimestampSkew: Double = 600
    /// Channel token issuer and lifetimes.
    public var tokens = TokenSettings()
    /// How often the key directory is checked for changes (also on SIGHUP).
    public var keyReloadInterval: Duration = .seconds(1)
    /// Leave grace (default 3 s) and relay node lease (default 15 s).
    public var presence = PresenceRegistry.Configuration()
    /// Events kept for `Last-Event-ID` resumption.
    public var eventLogCapacity: Int = 10_000
    /// How often grace and lease deadlines are checked.
    public var tickInterval: Duration = .milliseconds(100)
    /// The shortest time between two `subscription_count` events of one channel (the first change goes at once).
    public var subscriptionCountInterval: Duration = .seconds(5)
    /// The presence store: in memory, or PostgreSQL for several instances.
    public var store = StoreSettings()
    /// Comment lines sent on idle event streams so proxies keep them open.
    public var sseKeepAlive: Duration = .seconds(15)
    /// TLS for every connection (HTTPS only), with the certificate chain and key reloaded when the files change;
    /// nil serves plain HTTP.
    public var tls: TLSCertificates.Files?
    /// How long a request body has from its request's head, plus a second per 500 bytes received (Apache
    /// `mod_reqtimeout`'s `body=20,MinRate=500`); a slower body is answered 408 and its connection closed.
    public var requestBodyTimeout: Duration = .seconds(20)

    public init() {}
}
