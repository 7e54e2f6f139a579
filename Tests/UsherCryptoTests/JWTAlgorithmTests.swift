import Testing
@testable import UsherCrypto

/// Each algorithm's happy path, algorithm confusion, and how `kid` picks a key.
@Suite struct JWTAlgorithmTests {
    @Test("a hand-built token verifies with the key bound to its algorithm", arguments: JWTAlgorithm.allCases)
    func validToken(algorithm: JWTAlgorithm) throws {
        let token = try Token.make(algorithm)
        let claims = try Fixture.verifier(for: algorithm).verify(token, now: Fixture.now)
        #expect(claims.subject == "alice")
    }

    @Test("a JWTSigner token verifies, and so does one with the signing key's kid", arguments: JWTAlgorithm.allCases)
    func signerToken(algorithm: JWTAlgorithm) throws {
        let signingKey: JWTKey = if let key = Fixture.privateKey(for: algorithm) {
            try .asymmetric(key, algorithm: algorithm, kid: "k1")
        } else {
            try .hmac(secret: Fixture.secret, kid: "k1")
        }
        let token = try JWTSigner(key: signingKey).sign(["sub": .string("bob"), "exp": .integer(Fixture.epoch + 5)])
        let header = try JSONValue.parse(bytes: Token.decoded(token, segment: 0))
        #expect(header["alg"] == .string(algorithm.rawValue))
        #expect(header["kid"] == .string("k1"))
        let verifier = try Fixture.verifier(for: algorithm, kid: "k1")
        #expect(try verifier.verify(token, now: Fixture.now).subject == "bob")
    }

    @Test("a private key PEM also verifies")
    func privatePEMVerifies() throws {
        let key = try JWTKey.pem(Fixture.p256.privateKeyPEM(), algorithm: .es256)
        #expect(try JWTVerifier(keys: [key]).verify(Token.make(.es256), now: Fixture.now).subject == "alice")
    }

    @Test("HS256 MACed with the public key's PEM text is refused by a verifier holding that key", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func hmacWithPublicKey(algorithm: JWTAlgorithm) throws {
        let publicPEM = try #require(Fixture.privateKey(for: algorithm)).publicKeyPEM()
        let verifier = try Fixture.verifier(for: algorithm)
        for secret in [publicPEM, publicPEM.trimmingSuffix("\n")] {
            let token = Token.hs256(secret: Array(secret.utf8))
            #expect(throws: JWTError.algorithmMismatch) { try verifier.verify(token, now: Fixture.now) }
        }
    }

    @Test("a header naming another algorithm than the key's is a mismatch", arguments: [
        (JWTAlgorithm.rs256, JWTAlgorithm.es256), (.es256, .rs256), (.edDSA, .es256), (.es256, .edDSA), (.hs256, .edDSA), (.es256, .hs256),
    ])
    func headerAlgorithmMismatch(signedAs: JWTAlgorithm, keyAlgorithm: JWTAlgorithm) throws {
        let token = try Token.make(signedAs)
        #expect(throws: JWTError.algorithmMismatch) { try Fixture.verifier(for: keyAlgorithm).verify(token, now: Fixture.now) }
        // Relabelled: the header claims the key's algorithm but the signature is the other algorithm's.
        let relabelled = try Token.make(signedAs, header: #"{"alg":"\#(keyAlgorithm.rawValue)"}"#)
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: keyAlgorithm).verify(relabelled, now: Fixture.now) }
    }

    @Test("with keys of several algorithms, a kid cannot steer a token to a key of another algorithm")
    func mixedKeyRing() throws {
        let verifier = JWTVerifier(keys: [
            try Fixture.verificationKey(for: .hs256, kid: "h"), try Fixture.verificationKey(for: .es256, kid: "e"),
        ])
        let es256PEM = try Fixture.p256.publicKeyPEM()
        let confused = Token.hs256(header: #"{"alg":"HS256","kid":"e"}"#, secret: Array(es256PEM.utf8))
        #expect(throws: JWTError.algorithmMismatch) { try verifier.verify(confused, now: Fixture.now) }
        let wrongKid = try Token.make(.es256, header: #"{"alg":"ES256","kid":"h"}"#)
        #expect(throws: JWTError.algorithmMismatch) { try verifier.verify(wrongKid, now: Fixture.now) }
        #expect(try verifier.verify(Token.make(.es256, header: #"{"alg":"ES256","kid":"e"}"#), now: Fixture.now).subject == "alice")
        #expect(try verifier.verify(Token.hs256(header: #"{"alg":"HS256","kid":"h"}"#), now: Fixture.now).subject == "alice")
    }

    @Test("an unknown kid is refused")
    func unknownKid() throws {
        let verifier = try Fixture.verifier(for: .hs256, kid: "current")
        #expect(throws: JWTError.unknownKey) {
            try verifier.verify(Token.hs256(header: #"{"alg":"HS256","kid":"previous"}"#), now: Fixture.now)
        }
        #expect(throws: JWTError.unknownKey) {
            try verifier.verify(Token.hs256(header: #"{"alg":"HS256","kid":""}"#), now: Fixture.now)
        }
    }

    @Test("a kid that is not a string is malformed", arguments: ["1", "null", #"["a"]"#])
    func nonStringKid(kid: String) throws {
        let token = Token.hs256(header: #"{"alg":"HS256","kid":\#(kid)}"#)
        #expect(throws: JWTError.malformed) { try Fixture.verifier(for: .hs256, kid: "a").verify(token, now: Fixture.now) }
    }

    @Test("a token without kid is refused when every key has a kid, and there are several")
    func noKidSeveralKeys() throws {
        let verifier = JWTVerifier(keys: [try .hmac(secret: Fixture.secret, kid: "a"), try .hmac(secret: Fixture.secret, kid: "b")])
        #expect(throws: JWTError.unknownKey) { try verifier.verify(Token.hs256(), now: Fixture.now) }
        #expect(try verifier.verify(Token.hs256(header: #"{"alg":"HS256","kid":"b"}"#), now: Fixture.now).subject == "alice")
    }

    @Test("a token without kid uses the only key, or the only key without a kid")
    func noKidSingleKey() throws {
        #expect(try JWTVerifier(keys: [try .hmac(secret: Fixture.secret)]).verify(Token.hs256(), now: Fixture.now).subject == "alice")
        #expect(try JWTVerifier(keys: [try .hmac(secret: Fixture.secret, kid: "a")]).verify(Token.hs256(), now: Fixture.now).subject == "alice")
        let other = Array(repeating: UInt8(ascii: "o"), count: 32)
        let mixed = JWTVerifier(keys: [try .hmac(secret: other, kid: "a"), try .hmac(secret: Fixture.secret)])
        #expect(try mixed.verify(Token.hs256(), now: Fixture.now).subject == "alice")
        #expect(throws: JWTError.invalidSignature) { try mixed.verify(Token.hs256(secret: other), now: Fixture.now) }
    }

    @Test("a kid-less key does not answer tokens that name a kid")
    func kidNamedButKeyHasNone() throws {
        let verifier = JWTVerifier(keys: [try .hmac(secret: Fixture.secret)])
        #expect(throws: JWTError.unknownKey) {
            try verifier.verify(Token.hs256(header: #"{"alg":"HS256","kid":"a"}"#), now: Fixture.now)
        }
    }

    @Test("a verifier with no keys refuses everything")
    func noKeys() throws {
        #expect(throws: JWTError.unknownKey) { try JWTVerifier(keys: []).verify(Token.hs256(), now: Fixture.now) }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
