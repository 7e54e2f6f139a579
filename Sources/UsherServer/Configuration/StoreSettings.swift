/// Where presence state lives: in this process (default) or in PostgreSQL shared by several instances.
public struct StoreSettings: Sendable {
    /// `postgres://user[:password]@host[:port]/database`, or nil for the in-memory store. Holds a secret: never log it.
    public var url: String?
    /// Pooled database connections per instance (one more is held for LISTEN).
    public var poolSize: Int = 8
    /// Events kept in the database for `Last-Event-ID` resumption.
    public var retainedEvents: Int = 100_000
    /// How long a request waits for the database before it is answered 503.
    public var timeout: Duration = .seconds(2)

    /// Creates the default settings (in-memory store).
    public init() {}

    /// Reads `--store` / `USHER_STORE`: `memory` (or empty) selects the in-memory store, anything else is a URL.
    public mutating func select(_ value: String) {
        url = value.isEmpty || value == "memory" ? nil : value
    }
}
