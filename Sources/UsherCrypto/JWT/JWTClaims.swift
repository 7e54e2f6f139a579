/// The claims of a token whose signature and registered claims have been verified.
public struct JWTClaims: Sendable, Hashable {
    /// Every claim of the payload.
    public let payload: [String: JSONValue]

    /// Wraps a verified payload.
    public init(payload: [String: JSONValue]) {
        self.payload = payload
    }

    /// A claim by name.
    public subscript(name: String) -> JSONValue? { payload[name] }

    /// `sub` as text: a string as is, an integer as its JSON text.
    public var subject: String? {
        switch payload["sub"] {
        case .string(let value): value
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// `exp` in Unix seconds, when present and numeric.
    public var expiresAt: Double? { Self.seconds(payload["exp"]) }

    static func seconds(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let value): Double(value)
        case .double(let value) where value.isFinite: value
        default: nil
        }
    }
}
