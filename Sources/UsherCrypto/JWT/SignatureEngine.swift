internal import CLibJWT
internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// The two engines behind `JWTKey`: libjwt for HS256, OpenSSL EVP (with the parsed key cached in `AsymmetricKey`)
/// for ES256, RS256 and EdDSA, because libjwt 1.10.2 re-parses the PEM on every asymmetric call.
enum SignatureEngine {
    /// Verifies `token` (already split and header-checked) with `key`.
    static func verify(token: Substring, signingInput: Substring, signature: [UInt8], key: JWTKey) -> Bool {
        switch key.material {
        case .hmac(let secret):
            return verifyWithLibJWT(token: String(token), secret: secret)
        case .asymmetric(let asymmetric):
            let der: [UInt8]
            if key.algorithm == .es256 {
                guard let converted = ECDSASignature.der(fromRaw: signature) else { return false }
                der = converted
            } else {
                der = signature
            }
            return verifyWithOpenSSL(Array(signingInput.utf8), signature: der, key: asymmetric, algorithm: key.algorithm)
        }
    }

    /// libjwt decodes and checks the MAC; we then insist it used HS256, since libjwt trusts the header's `alg`.
    private static func verifyWithLibJWT(token: String, secret: [UInt8]) -> Bool {
        var jwt: OpaquePointer?
        let status = secret.withUnsafeBufferPointer { key in
            jwt_decode(&jwt, token, key.baseAddress, Int32(key.count))
        }
        guard status == 0, let jwt else { return false }
        defer { jwt_free(jwt) }
        return jwt_get_alg(jwt) == JWT_ALG_HS256
    }

    private static func verifyWithOpenSSL(_ input: [UInt8], signature: [UInt8], key: AsymmetricKey, algorithm: JWTAlgorithm) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let digest = algorithm == .edDSA ? nil : EVP_sha256()
        guard EVP_DigestVerifyInit(context, nil, digest, nil, key.pkey) == 1 else {
            OpenSSLErrors.clear()
            return false
        }
        let result = signature.withUnsafeBufferPointer { sig in
            input.withUnsafeBufferPointer { tbs in
                EVP_DigestVerify(context, sig.baseAddress, sig.count, tbs.baseAddress, tbs.count)
            }
        }
        if result != 1 { OpenSSLErrors.clear() }
        return result == 1
    }

    /// Signs `signingInput`; returns the JWS signature bytes (raw r‖s for ES256).
    static func sign(_ signingInput: [UInt8], key: JWTKey) throws(CryptoError) -> [UInt8] {
        switch key.material {
        case .hmac(let secret):
            return HMACKey(secret: secret).mac(signingInput)
        case .asymmetric(let asymmetric):
            guard asymmetric.isPrivate else { throw .invalidKey("a public key cannot sign") }
            let der = try signWithOpenSSL(signingInput, key: asymmetric, algorithm: key.algorithm)
            guard key.algorithm == .es256 else { return der }
            guard let raw = ECDSASignature.raw(fromDER: der) else { throw .signingFailed }
            return raw
        }
    }

    private static func signWithOpenSSL(_ input: [UInt8], key: AsymmetricKey, algorithm: JWTAlgorithm) throws(CryptoError) -> [UInt8] {
        if algorithm != .edDSA, let context = SigningContextCache.current.context(for: key) {
            return try signDigest(SHA256.hash(input), context: context)
        }
        guard let context = EVP_MD_CTX_new() else { throw .openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        let digest = algorithm == .edDSA ? nil : EVP_sha256()
        guard EVP_DigestSignInit(context, nil, digest, nil, key.pkey) == 1 else { throw .openSSL("EVP_DigestSignInit") }
        var length = 0
        let sized = input.withUnsafeBufferPointer { EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }
        guard sized == 1 else { throw .openSSL("EVP_DigestSign") }
        var out = [UInt8](repeating: 0, count: length)
        let signed = input.withUnsafeBufferPointer { tbs in
            out.withUnsafeMutableBufferPointer { EVP_DigestSign(context, $0.baseAddress, &length, tbs.baseAddress, tbs.count) }
        }
        guard signed == 1 else { throw .openSSL("EVP_DigestSign") }
        return Array(out.prefix(length))
    }

    /// Signs a SHA-256 digest with a cached, initialised context (ES256 gives DER, RS256 PKCS#1 v1.5).
    private static func signDigest(_ digest: [UInt8], context: OpaquePointer) throws(CryptoError) -> [UInt8] {
        var length = 0
        guard EVP_PKEY_sign(context, nil, &length, digest, digest.count) == 1 else { throw .openSSL("EVP_PKEY_sign") }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(context, &out, &length, digest, digest.count) == 1 else { throw .openSSL("EVP_PKEY_sign") }
        return Array(out.prefix(length))
    }

    /// HS256 tokens are encoded by libjwt, as DESIGN.md prescribes. libjwt re-serializes the payload with jansson, so
    /// doubles may print differently (0.1 → 0.10000000000000001); the claims' values are unchanged.
    static func encodeHS256(payloadJSON: String, secret: [UInt8], kid: String?) throws(CryptoError) -> String {
        var jwt: OpaquePointer?
        guard jwt_new(&jwt) == 0, let jwt else { throw .signingFailed }
        defer { jwt_free(jwt) }
        let keyed = secret.withUnsafeBufferPointer { jwt_set_alg(jwt, JWT_ALG_HS256, $0.baseAddress, Int32($0.count)) }
        guard keyed == 0, jwt_add_grants_json(jwt, payloadJSON) == 0 else { throw .signingFailed }
        if let kid, jwt_add_header(jwt, "kid", kid) != 0 { throw .signingFailed }
        guard let encoded = jwt_encode_str(jwt) else { throw .signingFailed }
        defer { free(encoded) }
        return String(cString: encoded)
    }
}
