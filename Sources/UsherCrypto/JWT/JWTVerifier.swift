public import Foundation

/// Verifies JWS compact tokens with the guards DESIGN.md requires, in this order, before any library sees them:
/// size cap → charset and three non-empty segments → our own header decode (exact `alg`, known `kid`, no `crit`)
/// → signature by the key's engine (libjwt re-checked with `jwt_get_alg` for HS256) → claims in Swift
/// (`exp` required, `nbf`, `iat`, `iss`, `aud`) against the caller's clock with leeway.
///
/// ```swift
/// let verifier = JWTVerifier(keys: [try .hmac(secret: secret)], configuration: .init(issuer: "https://app.example"))
/// let claims = try verifier.verify(token, now: Date())
/// ```
public struct JWTVerifier: Sendable {
    /// Claim checks and limits.
    public struct Configuration: Sendable {
        /// Required `iss`, when set.
        public var issuer: String?
        /// Required member of `aud`, when set.
        public var audience: String?
        /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
        public var leeway: Double
        /// Tokens longer than this many bytes are refused unread (libjwt crashes on ~9 MB tokens).
        public var maxTokenBytes: Int

        public init(issuer: String? = nil, audience: String? = nil, leeway: Double = 30, maxTokenBytes: Int = 8192) {
            self.issuer = issuer
            self.audience = audience
            self.leeway = leeway
            self.maxTokenBytes = maxTokenBytes
        }
    }

    private let keysByID: [String: JWTKey]
    private let keysWithoutID: [JWTKey]
    private let configuration: Configuration

    /// A verifier trusting `keys`. Tokens naming a `kid` must match a key with that id; tokens without one
    /// use the only key that has no id (or the only key at all).
    public init(keys: [JWTKey], configuration: Configuration = .init()) {
        var byID: [String: JWTKey] = [:]
        for key in keys { if let kid = key.kid { byID[kid] = key } }
        self.keysByID = byID
        self.keysWithoutID = keys.count == 1 ? keys : keys.filter { $0.kid == nil }
        self.configuration = configuration
    }

    /// Verifies `token` at `now` and returns its claims.
    public func verify(_ token: some StringProtocol, now: Date) throws(JWTError) -> JWTClaims {
        let token = Substring(token)
        guard token.utf8.count <= configuration.maxTokenBytes else { throw .tokenTooLarge }
        let segments = try JWTSegments(token)
        let header = try Self.decodeObject(segments.header)
        let key = try selectKey(for: header)
        guard let signature = Base64.urlDecode(segments.signature),
            SignatureEngine.verify(token: token, signingInput: segments.signingInput, signature: signature, key: key)
        else { throw .invalidSignature }
        let payload = try Self.decodeObject(segments.payload)
        try validate(payload, now: now.timeIntervalSince1970)
        return JWTClaims(payload: payload)
    }

    private func selectKey(for header: [String: JSONValue]) throws(JWTError) -> JWTKey {
        guard case .string(let alg) = header["alg"], let algorithm = JWTAlgorithm(rawValue: alg) else {
            throw .unsupportedAlgorithm
        }
        // We understand no critical extensions, so any `crit` must be refused (RFC 7515 §4.1.11).
        guard header["crit"] == nil else { throw .unsupportedAlgorithm }
        // libjwt refuses any `typ` but JWT; refusing it here too keeps HS256 and the OpenSSL algorithms consistent.
        if let typ = header["typ"], typ.stringValue?.uppercased() != "JWT" { throw .malformed }
        let key: JWTKey
        switch header["kid"] {
        case .string(let kid):
            guard let found = keysByID[kid] else { throw .unknownKey }
            key = found
        case nil:
            guard keysWithoutID.count == 1 else { throw .unknownKey }
            key = keysWithoutID[0]
        default:
            throw .malformed
        }
        guard key.algorithm == algorithm else { throw .algorithmMismatch }
        return key
    }

    private func validate(_ payload: [String: JSONValue], now: Double) throws(JWTError) {
        let leeway = configuration.leeway
        guard let exp = payload["exp"] else { throw .missingExpiry }
        guard let expiry = JWTClaims.seconds(exp) else { throw .invalidClaims }
        guard now < expiry + leeway else { throw .expired }
        for name in ["nbf", "iat"] {
            guard let value = payload[name] else { continue }
            guard let seconds = JWTClaims.seconds(value) else { throw .invalidClaims }
            guard seconds <= now + leeway else { throw .notYetValid }
        }
        if let issuer = configuration.issuer, payload["iss"]?.stringValue != issuer { throw .invalidIssuer }
        if let audience = configuration.audience {
            let matches = switch payload["aud"] {
            case .string(let aud): aud == audience
            case .array(let auds): auds.contains(.string(audience))
            default: false
            }
            guard matches else { throw .invalidAudience }
        }
    }

    static func decodeObject(_ segment: Substring) throws(JWTError) -> [String: JSONValue] {
        guard let bytes = Base64.urlDecode(segment),
            case .object(let members)? = try? JSONValue.parse(bytes: bytes)
        else { throw .malformed }
        return members
    }
}

/// The three segments of a compact JWS, after the charset check.
struct JWTSegments {
    let header: Substring
    let payload: Substring
    let signature: Substring
    let signingInput: Substring

    init(_ token: Substring) throws(JWTError) {
        var dots: [Substring.Index] = []
        for index in token.utf8.indices {
            let c = token.utf8[index]
            if c == UInt8(ascii: ".") {
                dots.append(index)
                guard dots.count <= 2 else { throw .malformed }
            } else if !Self.isBase64URL(c) {
                throw .malformed
            }
        }
        guard dots.count == 2 else { throw .malformed }
        header = token[token.startIndex..<dots[0]]
        payload = token[token.index(after: dots[0])..<dots[1]]
        signature = token[token.index(after: dots[1])...]
        signingInput = token[token.startIndex..<dots[1]]
        // An empty signature is what `alg: none` tokens carry.
        guard !header.isEmpty, !payload.isEmpty, !signature.isEmpty else { throw .malformed }
    }

    private static func isBase64URL(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }
}
