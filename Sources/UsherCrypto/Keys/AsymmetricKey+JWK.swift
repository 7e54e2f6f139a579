internal import COpenSSL

extension AsymmetricKey {
    /// The public half as a JWK (RFC 7517/7518/8037): EC `crv`,`x`,`y`; RSA `n`,`e`; OKP `crv`,`x`.
    /// `kid`, `alg` and `use` are the caller's to add.
    public func publicJWK() throws(CryptoError) -> [String: JSONValue] {
        switch family {
        case .p256:
            var point = [UInt8](repeating: 0, count: 65)
            var length = 0
            guard EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, &point, point.count, &length) == 1,
                length == 65, point[0] == 0x04
            else { throw .openSSL("cannot read the EC public point") }
            return [
                "kty": "EC", "crv": "P-256",
                "x": .string(Base64.urlEncode(point[1..<33])), "y": .string(Base64.urlEncode(point[33..<65])),
            ]
        case .rsa:
            return ["kty": "RSA", "n": .string(Base64.urlEncode(try bigNumber(OSSL_PKEY_PARAM_RSA_N))),
                    "e": .string(Base64.urlEncode(try bigNumber(OSSL_PKEY_PARAM_RSA_E)))]
        case .ed25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = raw.count
            guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == 32 else {
                throw .openSSL("cannot read the Ed25519 public key")
            }
            return ["kty": "OKP", "crv": "Ed25519", "x": .string(Base64.urlEncode(raw))]
        }
    }

    private func bigNumber(_ name: UnsafePointer<CChar>) throws(CryptoError) -> [UInt8] {
        let length = usher_pkey_bn_param(pkey, name, nil, 0)
        guard length > 0 else { throw .openSSL("cannot read an RSA parameter") }
        var out = [UInt8](repeating: 0, count: Int(length))
        guard usher_pkey_bn_param(pkey, name, &out, length) == length else { throw .openSSL("cannot read an RSA parameter") }
        return out
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
