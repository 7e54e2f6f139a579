/// The JWS algorithms Usher accepts and issues. `none` is deliberately absent.
public enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable, Codable {
    case hs256 = "HS256"
    case rs256 = "RS256"
    case es256 = "ES256"
    case edDSA = "EdDSA"
}
