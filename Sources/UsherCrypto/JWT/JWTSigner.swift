/// Issues compact JWS tokens with one signing key.
///
/// HS256 goes through libjwt; ES256, RS256 and EdDSA through OpenSSL with the key parsed once.
public struct JWTSigner: Sendable {
    /// The key that signs; its `kid` goes into the header.
    public let key: JWTKey
    /// The base64url header segment plus ".": the same for every token of this key, so built once.
    private let headerPrefix: String

    /// A signer for `key`, which must be able to sign.
    public init(key: JWTKey) throws(CryptoError) {
        guard key.canSign else { throw .invalidKey("a public key cannot sign") }
        self.key = key
        var header: [String: JSONValue] = ["alg": .string(key.algorithm.rawValue), "typ": .string("JWT")]
        if let kid = key.kid { header["kid"] = .string(kid) }
        headerPrefix = Base64.urlEncode(Array(JSONValue.object(header).jsonText.utf8)) + "."
    }

    /// Signs `claims` (an object) and returns the compact token.
    public func sign(_ claims: [String: JSONValue]) throws(CryptoError) -> String {
        let payload = JSONValue.object(claims).jsonText
        if case .hmac(let secret) = key.material {
            return try SignatureEngine.encodeHS256(payloadJSON: payload, secret: secret, kid: key.kid)
        }
        let signingInput = headerPrefix + Base64.urlEncode(Array(payload.utf8))
        let signature = try SignatureEngine.sign(Array(signingInput.utf8), key: key)
        return signingInput + "." + Base64.urlEncode(signature)
    }
}
