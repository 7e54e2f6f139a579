@testable import UsherCrypto

/// Pulls raw public-key components out of SubjectPublicKeyInfo DER (fixed layouts for the key sizes we
/// generate) and writes JWKs from them, plus the ECDSA DER ⇄ raw conversion done independently of the library.
enum KeyEncoding {
    /// The DER inside a single-block PEM.
    static func der(fromPEM pem: String) -> [UInt8]? {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Base64.decode(body)
    }

    /// The JWK (RFC 7517/8037) of a generated key's public half.
    static func jwk(for key: AsymmetricKey, kid: String?, alg: String? = nil) throws -> String {
        guard let spki = der(fromPEM: try key.publicKeyPEM()) else { throw OpenSSLTool.Failure(description: "bad PEM") }
        var members: [String]
        switch key.family {
        case .p256:
            // 26-byte algorithm prefix, then the uncompressed point 04 ‖ x ‖ y.
            precondition(spki.count == 91 && spki[26] == 0x04, "unexpected P-256 SPKI layout")
            members = [#""kty":"EC""#, #""crv":"P-256""#, #""x":"\#(Base64.urlEncode(spki[27..<59]))""#,
                       #""y":"\#(Base64.urlEncode(spki[59..<91]))""#]
        case .rsa:
            // RSA-2048 SPKI: modulus (with its 00 sign byte at 32) at 33..<289, then 02 03 01 00 01.
            precondition(spki.count == 294 && spki[32] == 0 && spki[289...] == [2, 3, 1, 0, 1], "unexpected RSA SPKI layout")
            members = [#""kty":"RSA""#, #""n":"\#(Base64.urlEncode(spki[33..<289]))""#, #""e":"AQAB""#]
        case .ed25519:
            precondition(spki.count == 44, "unexpected Ed25519 SPKI layout")
            members = [#""kty":"OKP""#, #""crv":"Ed25519""#, #""x":"\#(Base64.urlEncode(spki[12...]))""#]
        }
        if let kid { members.append(#""kid":"\#(kid)""#) }
        if let alg { members.append(#""alg":"\#(alg)""#) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// JOSE r ‖ s from a DER `ECDSA-Sig-Value` (P-256 lengths only).
    static func rawECDSA(fromDER der: [UInt8]) -> [UInt8]? {
        guard der.count >= 8, der[0] == 0x30, Int(der[1]) == der.count - 2 else { return nil }
        var index = 2
        var out: [UInt8] = []
        for _ in 0..<2 {
            guard der[index] == 0x02 else { return nil }
            let length = Int(der[index + 1])
            var integer = Array(der[(index + 2)..<(index + 2 + length)])
            while integer.count > 32, integer.first == 0 { integer.removeFirst() }
            guard integer.count <= 32 else { return nil }
            out += Array(repeating: 0, count: 32 - integer.count) + integer
            index += 2 + length
        }
        return index == der.count ? out : nil
    }

    /// DER `ECDSA-Sig-Value` from JOSE r ‖ s.
    static func derECDSA(fromRaw raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty || value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }
}
