public import UsherCore
public import UsherCrypto

/// Non-secret per-app settings from the configuration file (credentials live in `keys/apps/`).
public struct AppSettings: Sendable {
    /// The app id; must have credentials in `keys/apps/<id>.json`.
    public var id: String
    /// How subscribers prove who they are; `nil` means only `--dev` anonymous access.
    public var identity: IdentitySettings?
    /// Ordered channel rules; first match wins, none matching means 403.
    public var channelRules: [ChannelRule]
    /// Presence member limits.
    public var presence: PresenceLimits
    /// Browser origins allowed to call the auth endpoints cross-origin.
    public var corsOrigins: [String]
    /// Pusher-format webhooks, when configured.
    public var webhooks: WebhookSettings?
    /// Client events one connection may send per second; relays refuse the excess with `pusher:error` 4301.
    public var clientEventsPerSecond = AppFeatures.defaultClientEventsPerSecond
    /// Whether subscribers of non-presence channels get `pusher_internal:subscription_count` (and webhooks can
    /// carry `subscription_count`).
    public var subscriptionCount = false
    /// The most user ids a connection may watch for online status; nil when the app has no watchlist.
    public var watchlistMaxIDs: Int?
    /// The most client connections the app may have open across every relay node; 0 for no limit.
    public var maxConnections = 0

    public init(
        id: String, identity: IdentitySettings? = nil, channelRules: [ChannelRule] = [],
        presence: PresenceLimits = PresenceLimits(), corsOrigins: [String] = []
    ) {
        self.id = id
        self.identity = identity
        self.channelRules = channelRules
        self.presence = presence
        self.corsOrigins = corsOrigins
    }
}

/// Identity token settings: the keys that verify the app's login tokens and the claim checks.
public struct IdentitySettings: Sendable {
    /// Verification keys (HS256 secret, a PEM public key, or a JWKS), each bound to one algorithm.
    public var keys: [JWTKey]
    /// Required `iss`, if any.
    public var issuer: String?
    /// Required `aud` member, if any.
    public var audience: String?
    /// Tolerated clock skew in seconds.
    public var leewaySeconds: Int
    /// A cookie that may carry the token instead of `Authorization: Bearer`.
    public var cookie: String?

    public init(keys: [JWTKey], issuer: String? = nil, audience: String? = nil, leewaySeconds: Int = 30, cookie: String? = nil) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leewaySeconds = leewaySeconds
        self.cookie = cookie
    }
}
