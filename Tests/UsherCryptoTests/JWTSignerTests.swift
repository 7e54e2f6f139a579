import Testing
@testable import UsherCrypto

/// What `JWTSigner` emits, checked segment by segment rather than only by our own verifier.
@Suite struct JWTSignerTests {
    static let claims: [String: JSONValue] = [
        "sub": .string("alice"), "exp": .integer(Fixture.epoch + 60), "user_info": .object(["name": .string("Zoë"), "id": .integer(10)]),
    ]

    @Test("HS256 tokens from libjwt carry our header, our payload text, and the HMACKey MAC")
    func hs256Shape() throws {
        let token = try JWTSigner(key: .hmac(secret: Fixture.secret, kid: "k")).sign(Self.claims)
        let parts = Token.parts(token)
        #expect(parts.count == 3)
        let header = try JSONValue.parse(bytes: Token.decoded(token, segment: 0))
        #expect(header == .object(["alg": .string("HS256"), "typ": .string("JWT"), "kid": .string("k")]))
        // libjwt re-serialises the payload with jansson: byte for byte ours for strings and integers, though a
        // double comes out with 17 significant digits (0.1 → 0.10000000000000001) and control escapes in uppercase.
        #expect(String(decoding: Token.decoded(token, segment: 1), as: UTF8.self) == JSONValue.object(Self.claims).jsonText)
        #expect(Token.decoded(token, segment: 2) == HMACKey(secret: Fixture.secret).mac(parts[0] + "." + parts[1]))
    }

    @Test("asymmetric tokens carry a sorted header with typ and kid", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func asymmetricHeader(algorithm: JWTAlgorithm) throws {
        let key = try #require(Fixture.privateKey(for: algorithm))
        let token = try JWTSigner(key: .asymmetric(key, algorithm: algorithm, kid: "k")).sign(Self.claims)
        let header = String(decoding: Token.decoded(token, segment: 0), as: UTF8.self)
        #expect(header == #"{"alg":"\#(algorithm.rawValue)","kid":"k","typ":"JWT"}"#)
        #expect(String(decoding: Token.decoded(token, segment: 1), as: UTF8.self) == JSONValue.object(Self.claims).jsonText)
    }

    @Test("signatures have the JWS sizes: 32 (HS256), 64 (ES256 raw r‖s), 256 (RS256-2048), 64 (EdDSA)", arguments: [
        (JWTAlgorithm.hs256, 32), (.es256, 64), (.rs256, 256), (.edDSA, 64),
    ])
    func signatureSizes(algorithm: JWTAlgorithm, size: Int) throws {
        let key: JWTKey = if let asymmetric = Fixture.privateKey(for: algorithm) {
            try .asymmetric(asymmetric, algorithm: algorithm)
        } else {
            try .hmac(secret: Fixture.secret)
        }
        let signer = try JWTSigner(key: key)
        // Enough ES256 signatures that some r or s has leading zero bytes, which must still pad to 32.
        let rounds = algorithm == .es256 ? 300 : 3
        for round in 0..<rounds {
            let token = try signer.sign(["exp": .integer(Fixture.epoch + Int64(round))])
            #expect(Token.decoded(token, segment: 2).count == size)
            #expect(Token.parts(token)[2].count == (size * 4 + 2) / 3)
        }
    }

    @Test("ES256 signs with fresh randomness; EdDSA and HS256 are deterministic")
    func determinism() throws {
        let es = try JWTSigner(key: .asymmetric(Fixture.p256, algorithm: .es256))
        #expect(try es.sign(Self.claims) != es.sign(Self.claims))
        let ed = try JWTSigner(key: .asymmetric(Fixture.ed25519, algorithm: .edDSA))
        #expect(try ed.sign(Self.claims) == ed.sign(Self.claims))
        let hs = try JWTSigner(key: .hmac(secret: Fixture.secret))
        #expect(try hs.sign(Self.claims) == hs.sign(Self.claims))
    }

    @Test("ECDSA raw ⇄ DER conversion round-trips and agrees with an independent encoder")
    func ecdsaConversion() throws {
        for round in 0..<50 {
            let raw = round == 0 ? [UInt8](repeating: 0, count: 31) + [1] + [0x80] + [UInt8](repeating: 0xFF, count: 31)
                : SecureRandom.bytes(count: 64)
            let der = try #require(ECDSASignature.der(fromRaw: raw))
            #expect(der == KeyEncoding.derECDSA(fromRaw: raw))
            #expect(ECDSASignature.raw(fromDER: der) == raw)
        }
    }

    @Test("ECDSA conversion refuses wrong sizes and non-DER input")
    func ecdsaConversionRejects() {
        #expect(ECDSASignature.der(fromRaw: SecureRandom.bytes(count: 63)) == nil)
        #expect(ECDSASignature.der(fromRaw: SecureRandom.bytes(count: 65)) == nil)
        #expect(ECDSASignature.der(fromRaw: []) == nil)
        #expect(ECDSASignature.raw(fromDER: []) == nil)
        #expect(ECDSASignature.raw(fromDER: SecureRandom.bytes(count: 64).map { $0 | 0x01 }.map { $0 == 0x30 ? 0x31 : $0 }) == nil)
        // A 33-byte r (after its sign byte) cannot be a P-256 scalar.
        let tooBig = [0x30, 0x27, 0x02, 0x22, 0x00] + [UInt8](repeating: 0xFF, count: 33) + [0x02, 0x01, 0x01]
        #expect(ECDSASignature.raw(fromDER: tooBig) == nil)
    }
}
