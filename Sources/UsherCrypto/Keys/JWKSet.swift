internal import COpenSSL

/// Reads a JSON Web Key Set (RFC 7517) of public keys: EC P-256, RSA and OKP Ed25519.
public enum JWKSet {
    /// Parses `{"keys":[…]}` into verification keys. Every key must have a `kid` when there are several,
    /// and private members (`d`) are refused: a JWKS file should hold public keys only.
    public static func keys(fromJSON text: String) throws(CryptoError) -> [JWTKey] {
        guard case .array(let entries)? = (try? JSONValue.parse(text))?["keys"] else {
            throw .invalidKey("a JWKS needs a \"keys\" array")
        }
        let keys = try entries.map { (entry: JSONValue) throws(CryptoError) -> JWTKey in try key(from: entry) }
        if keys.count > 1, keys.contains(where: { $0.kid == nil }) {
            throw .invalidKey("every key of a multi-key JWKS needs a kid")
        }
        return keys
    }

    static func key(from jwk: JSONValue) throws(CryptoError) -> JWTKey {
        guard jwk["d"] == nil else { throw .invalidKey("JWKS holds a private key") }
        let kid = jwk["kid"]?.stringValue
        let declared = try jwk["alg"].map { (value: JSONValue) throws(CryptoError) -> JWTAlgorithm in
            guard let alg = value.stringValue.flatMap(JWTAlgorithm.init(rawValue:)) else {
                throw .unsupportedKey("unsupported JWK alg")
            }
            return alg
        }
        let pkey: OpaquePointer?
        let inferred: JWTAlgorithm
        switch jwk["kty"]?.stringValue {
        case "EC":
            guard jwk["crv"]?.stringValue == "P-256" else { throw .unsupportedKey("only EC P-256 keys are supported") }
            let x = try component(jwk, "x", count: 32)
            let y = try component(jwk, "y", count: 32)
            pkey = usher_ec_p256_public_key(x, y)
            inferred = .es256
        case "RSA":
            let n = try component(jwk, "n")
            let e = try component(jwk, "e")
            pkey = usher_rsa_public_key(n, n.count, e, e.count)
            inferred = .rs256
        case "OKP":
            guard jwk["crv"]?.stringValue == "Ed25519" else { throw .unsupportedKey("only Ed25519 OKP keys are supported") }
            let x = try component(jwk, "x", count: 32)
            pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, x, x.count)
            inferred = .edDSA
        default:
            throw .unsupportedKey("unsupported JWK kty")
        }
        guard let pkey else { throw .invalidKey("invalid JWK: \(OpenSSLErrors.drain())") }
        return try .asymmetric(AsymmetricKey(owning: pkey, isPrivate: false), algorithm: declared ?? inferred, kid: kid)
    }

    private static func component(_ jwk: JSONValue, _ name: String, count: Int? = nil) throws(CryptoError) -> [UInt8] {
        guard let text = jwk[name]?.stringValue, let bytes = Base64.urlDecode(text), !bytes.isEmpty,
            count == nil || bytes.count == count
        else { throw .invalidKey("JWK member \(name) is missing or malformed") }
        return bytes
    }
}
