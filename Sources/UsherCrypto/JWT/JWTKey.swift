/// A key bound to exactly one JWS algorithm when it is loaded, so a token can never choose how it is checked.
public struct JWTKey: Sendable {
    enum Material: Sendable {
        case hmac([UInt8])
        case asymmetric(AsymmetricKey)
    }

    /// The key id tokens name in their `kid` header; `nil` for a key that serves tokens without one.
    public let kid: String?
    /// The one algorithm this key signs or verifies.
    public let algorithm: JWTAlgorithm
    let material: Material

    /// An HS256 key. Secrets shorter than 32 bytes are refused (libjwt would even accept an empty one).
    public static func hmac(secret: [UInt8], kid: String? = nil) throws(CryptoError) -> JWTKey {
        guard secret.count >= 32 else { throw .weakSecret }
        return JWTKey(kid: kid, algorithm: .hs256, material: .hmac(secret))
    }

    /// An asymmetric key (public to verify, private to sign) bound to `algorithm`, whose family must fit it:
    /// ES256 needs P-256, RS256 needs RSA ≥ 2048 bits, EdDSA needs Ed25519.
    public static func asymmetric(_ key: AsymmetricKey, algorithm: JWTAlgorithm, kid: String? = nil) throws(CryptoError) -> JWTKey {
        let fits = switch (algorithm, key.family) {
        case (.es256, .p256), (.rs256, .rsa), (.edDSA, .ed25519): true
        default: false
        }
        guard fits else { throw .unsupportedKey("\(algorithm.rawValue) cannot use this key type") }
        return JWTKey(kid: kid, algorithm: algorithm, material: .asymmetric(key))
    }

    /// Parses a PEM key and binds it to `algorithm`.
    public static func pem(_ pem: String, algorithm: JWTAlgorithm, kid: String? = nil) throws(CryptoError) -> JWTKey {
        guard algorithm != .hs256 else { throw .unsupportedKey("HS256 takes a shared secret, not a PEM key") }
        return try asymmetric(AsymmetricKey(pem: pem), algorithm: algorithm, kid: kid)
    }

    /// Whether this key can sign (an HMAC secret or a private key).
    public var canSign: Bool {
        switch material {
        case .hmac: true
        case .asymmetric(let key): key.isPrivate
        }
    }

    /// The public JWK of an asymmetric key (without `kid`/`alg`/`use`); `nil` for HMAC secrets, which are never published.
    public func publicJWK() throws(CryptoError) -> [String: JSONValue]? {
        guard case .asymmetric(let key) = material else { return nil }
        return try key.publicJWK()
    }
}
