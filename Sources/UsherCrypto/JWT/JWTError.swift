/// Why a token was refused. Callers map these to coarse outcomes (401 invalid vs expired); the detail is for logs.
public struct JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case tokenTooLarge, malformed, unsupportedAlgorithm, algorithmMismatch, unknownKey
        case invalidSignature, expired, notYetValid, missingExpiry, invalidIssuer, invalidAudience, invalidClaims
    }

    private let code: Code
    /// A secret-free description; never includes the token.
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// The token exceeds the size cap (checked before any parsing).
    public static let tokenTooLarge = JWTError(.tokenTooLarge, "token too large")
    /// Not three base64url segments, or a header/payload that is not a JSON object.
    public static let malformed = JWTError(.malformed, "malformed token")
    /// `alg` is not one Usher supports (`none` included), or `crit` names extensions.
    public static let unsupportedAlgorithm = JWTError(.unsupportedAlgorithm, "unsupported algorithm")
    /// `alg` differs from the algorithm the selected key is bound to.
    public static let algorithmMismatch = JWTError(.algorithmMismatch, "algorithm does not match the key")
    /// `kid` names no configured key (or no `kid` and several candidates).
    public static let unknownKey = JWTError(.unknownKey, "unknown key id")
    /// The signature does not verify.
    public static let invalidSignature = JWTError(.invalidSignature, "invalid signature")
    /// `exp` has passed (beyond the leeway).
    public static let expired = JWTError(.expired, "token expired")
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    public static let notYetValid = JWTError(.notYetValid, "token not yet valid")
    /// `exp` is required and absent.
    public static let missingExpiry = JWTError(.missingExpiry, "token has no exp claim")
    /// `iss` differs from the configured issuer.
    public static let invalidIssuer = JWTError(.invalidIssuer, "unexpected issuer")
    /// `aud` does not contain the configured audience.
    public static let invalidAudience = JWTError(.invalidAudience, "unexpected audience")
    /// A registered claim has the wrong JSON type.
    public static let invalidClaims = JWTError(.invalidClaims, "invalid claims")

    public static func == (lhs: JWTError, rhs: JWTError) -> Bool { lhs.code == rhs.code }
}
