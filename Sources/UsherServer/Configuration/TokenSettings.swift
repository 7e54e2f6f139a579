/// Channel token settings (`tokens:` in usher.yaml).
public struct TokenSettings: Sendable, Hashable {
    /// The `iss` of issued tokens, checked on verification.
    public var issuer: String = "usher"
    /// Lifetime when the request names none.
    public var defaultTTLSeconds: Int = 300
    /// The longest lifetime a request may ask for; key rotation overlaps must be at least this long.
    public var maxTTLSeconds: Int = 3600

    public init() {}
}
