import Foundation
import Testing
@testable import UsherCrypto

/// JSON Web Key Sets: public keys only, one algorithm per key, kids required when there are several.
@Suite struct JWKSetTests {
    static func set(_ keys: String...) -> String { #"{"keys":["# + keys.joined(separator: ",") + "]}" }

    @Test("a JWK built from a key verifies that key's tokens", arguments: JWTAlgorithm.allCases.filter { $0 != .hs256 })
    func verifiesWithJWK(algorithm: JWTAlgorithm) throws {
        let key = try #require(Fixture.privateKey(for: algorithm))
        let keys = try JWKSet.keys(fromJSON: Self.set(KeyEncoding.jwk(for: key, kid: "k1")))
        #expect(keys.count == 1 && keys[0].algorithm == algorithm && keys[0].kid == "k1" && !keys[0].canSign)
        let token = try Token.make(algorithm, header: #"{"alg":"\#(algorithm.rawValue)","kid":"k1"}"#)
        #expect(try JWTVerifier(keys: keys).verify(token, now: Fixture.now).subject == "alice")
        let tampered = Token.flippingBit(3, ofSegment: 2, in: token)
        #expect(throws: JWTError.invalidSignature) { try JWTVerifier(keys: keys).verify(tampered, now: Fixture.now) }
    }

    @Test("in a multi-key set, the kid picks the key, and another key's kid fails the signature")
    func multiKey() throws {
        let other = try AsymmetricKey.generate(.p256)
        let keys = try JWKSet.keys(fromJSON: Self.set(
            KeyEncoding.jwk(for: Fixture.p256, kid: "a"), KeyEncoding.jwk(for: other, kid: "b"),
            KeyEncoding.jwk(for: Fixture.rsa, kid: "r"), KeyEncoding.jwk(for: Fixture.ed25519, kid: "o")))
        let verifier = JWTVerifier(keys: keys)
        #expect(try verifier.verify(Token.make(.es256, header: #"{"alg":"ES256","kid":"a"}"#), now: Fixture.now).subject == "alice")
        #expect(try verifier.verify(Token.make(.rs256, header: #"{"alg":"RS256","kid":"r"}"#), now: Fixture.now).subject == "alice")
        #expect(try verifier.verify(Token.make(.edDSA, header: #"{"alg":"EdDSA","kid":"o"}"#), now: Fixture.now).subject == "alice")
        #expect(throws: JWTError.invalidSignature) {
            try verifier.verify(Token.make(.es256, header: #"{"alg":"ES256","kid":"b"}"#), now: Fixture.now)
        }
        #expect(throws: JWTError.algorithmMismatch) {
            try verifier.verify(Token.make(.es256, header: #"{"alg":"ES256","kid":"r"}"#), now: Fixture.now)
        }
        #expect(throws: JWTError.unknownKey) { try verifier.verify(Token.make(.es256), now: Fixture.now) }
    }

    @Test("a declared alg that fits the key is honoured; one that does not is unsupported")
    func declaredAlg() throws {
        #expect(try JWKSet.keys(fromJSON: Self.set(KeyEncoding.jwk(for: Fixture.p256, kid: nil, alg: "ES256")))[0].algorithm == .es256)
        for alg in ["RS256", "HS256", "EdDSA", "ES512", "none", "es256"] {
            #expect(throws: CryptoError.unsupportedKey, "\(alg)") {
                try JWKSet.keys(fromJSON: Self.set(KeyEncoding.jwk(for: Fixture.p256, kid: nil, alg: alg)))
            }
        }
        #expect(throws: CryptoError.unsupportedKey) {
            try JWKSet.keys(fromJSON: Self.set(KeyEncoding.jwk(for: Fixture.rsa, kid: nil, alg: "ES256")))
        }
    }

    @Test("a set that is not a JWKS object is invalid", arguments: [
        "", "[]", "{}", #"{"keys":{}}"#, #"{"keys":"x"}"#, #"{"key":[]}"#, "not json",
    ])
    func notASet(text: String) {
        #expect(throws: CryptoError.invalidKey) { try JWKSet.keys(fromJSON: text) }
    }

    @Test("an empty key list yields no keys")
    func emptySet() throws {
        #expect(try JWKSet.keys(fromJSON: #"{"keys":[]}"#).isEmpty)
    }

    @Test("private members and kid-less keys among several are refused")
    func structuralRules() throws {
        let ec = try KeyEncoding.jwk(for: Fixture.p256, kid: "a")
        let withPrivate = ec.dropLast() + #","d":"AAAA"}"#
        #expect(throws: CryptoError.invalidKey) { try JWKSet.keys(fromJSON: Self.set(String(withPrivate))) }
        let kidless = try KeyEncoding.jwk(for: Fixture.ed25519, kid: nil)
        #expect(throws: CryptoError.invalidKey) { try JWKSet.keys(fromJSON: Self.set(ec, kidless)) }
        #expect(try JWKSet.keys(fromJSON: Self.set(kidless)).count == 1)
    }

    static let x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
    static let y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"

    @Test("keys of unsupported types or curves are unsupported", arguments: [
        #"{"kty":"oct","k":"AAAA"}"#, #"{"kty":"EC","crv":"P-384","x":"\#(x)","y":"\#(y)"}"#,
        #"{"kty":"EC","crv":"secp256k1","x":"\#(x)","y":"\#(y)"}"#, #"{"kty":"EC","x":"\#(x)","y":"\#(y)"}"#,
        #"{"kty":"OKP","crv":"X25519","x":"\#(x)"}"#, #"{"kty":"OKP","crv":"Ed448","x":"\#(x)"}"#, #"{"kty":"ec"}"#, "{}",
    ])
    func unsupportedTypes(jwk: String) {
        #expect(throws: CryptoError.unsupportedKey) { try JWKSet.keys(fromJSON: Self.set(jwk)) }
    }

    @Test("missing or malformed components are invalid", arguments: [
        #"{"kty":"EC","crv":"P-256","x":"\#(x)"}"#,
        #"{"kty":"EC","crv":"P-256","x":"\#(x.dropLast(2))","y":"\#(y)"}"#,
        #"{"kty":"EC","crv":"P-256","x":"\#(x)=","y":"\#(y)"}"#,
        #"{"kty":"EC","crv":"P-256","x":"\#(x)","y":1}"#,
        #"{"kty":"RSA","e":"AQAB"}"#, #"{"kty":"RSA","n":"","e":"AQAB"}"#, #"{"kty":"RSA","n":"AQAB"}"#,
        #"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#, #"{"kty":"OKP","crv":"Ed25519"}"#,
    ])
    func malformedComponents(jwk: String) {
        #expect(throws: CryptoError.invalidKey) { try JWKSet.keys(fromJSON: Self.set(jwk)) }
    }

    @Test("an EC point off the curve is refused")
    func offCurve() {
        let point = #"{"kty":"EC","crv":"P-256","x":"\#(Self.x)","y":"\#(Self.x)"}"#
        #expect(throws: CryptoError.invalidKey) { try JWKSet.keys(fromJSON: Self.set(point)) }
    }

    @Test("the RFC 7517 example EC key loads (and only as ES256)")
    func rfcExample() throws {
        let keys = try JWKSet.keys(fromJSON: Self.set(#"{"kty":"EC","crv":"P-256","x":"\#(Self.x)","y":"\#(Self.y)","use":"sig","kid":"1"}"#))
        #expect(keys.map(\.algorithm) == [.es256])
    }

    @Test("RSA keys below 2048 bits are unsupported", .enabled(if: OpenSSLTool.isAvailable, "needs the openssl command-line tool"))
    func smallRSA() throws {
        let modulus = try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "k.pem"], in: dir)
            return try OpenSSLTool.text(["rsa", "-in", "k.pem", "-noout", "-modulus"], in: dir)
        }
        let n = try #require(Hex.decode(modulus.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "Modulus=", with: "")))
        #expect(n.count == 128)
        #expect(throws: CryptoError.unsupportedKey) {
            try JWKSet.keys(fromJSON: Self.set(#"{"kty":"RSA","n":"\#(Base64.urlEncode(n))","e":"AQAB"}"#))
        }
    }
}
