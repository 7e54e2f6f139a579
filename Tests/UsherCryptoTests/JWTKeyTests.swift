import Testing
@testable import UsherCrypto

/// Binding keys to one algorithm, secret length, and who may sign.
@Suite struct JWTKeyTests {
    @Test("HMAC secrets shorter than 32 bytes are refused", arguments: [0, 1, 16, 31])
    func weakSecret(length: Int) {
        #expect(throws: CryptoError.weakSecret) { try JWTKey.hmac(secret: Array(repeating: 0x61, count: length)) }
    }

    @Test("HMAC secrets of 32 bytes or more are accepted, bound to HS256", arguments: [32, 33, 64, 200])
    func strongSecret(length: Int) throws {
        let key = try JWTKey.hmac(secret: Array(repeating: 0x61, count: length), kid: "k")
        #expect(key.algorithm == .hs256)
        #expect(key.kid == "k")
        #expect(key.canSign)
    }

    @Test("a key family must fit the algorithm it is bound to", arguments: [
        (AsymmetricKey.Family.p256, JWTAlgorithm.rs256), (.p256, .edDSA), (.p256, .hs256), (.rsa, .es256), (.rsa, .edDSA),
        (.ed25519, .es256), (.ed25519, .rs256),
    ])
    func familyMismatch(family: AsymmetricKey.Family, algorithm: JWTAlgorithm) throws {
        let key: AsymmetricKey = switch family {
        case .p256: Fixture.p256
        case .rsa: Fixture.rsa
        case .ed25519: Fixture.ed25519
        }
        #expect(throws: CryptoError.unsupportedKey) { try JWTKey.asymmetric(key, algorithm: algorithm) }
        #expect(throws: CryptoError.unsupportedKey) { try JWTKey.pem(key.publicKeyPEM(), algorithm: algorithm) }
        #expect(throws: CryptoError.unsupportedKey) { try JWTKey.pem(key.privateKeyPEM(), algorithm: algorithm) }
    }

    @Test("each family binds to its own algorithm", arguments: [
        (AsymmetricKey.Family.p256, JWTAlgorithm.es256), (.rsa, .rs256), (.ed25519, .edDSA),
    ])
    func familyMatch(family: AsymmetricKey.Family, algorithm: JWTAlgorithm) throws {
        let key = try #require(Fixture.privateKey(for: algorithm))
        #expect(key.family == family)
        #expect(try JWTKey.asymmetric(key, algorithm: algorithm).canSign)
        #expect(try JWTKey.pem(key.publicKeyPEM(), algorithm: algorithm).canSign == false)
    }

    @Test("a public key cannot make a signer, nor sign")
    func publicCannotSign() throws {
        let publicKey = try JWTKey.pem(Fixture.p256.publicKeyPEM(), algorithm: .es256)
        #expect(throws: CryptoError.invalidKey) { try JWTSigner(key: publicKey) }
        #expect(throws: CryptoError.invalidKey) { try SignatureEngine.sign([1, 2, 3], key: publicKey) }
    }

    @Test("generated keys round-trip through PEM", arguments: [AsymmetricKey.Family.p256, .rsa, .ed25519])
    func pemRoundTrip(family: AsymmetricKey.Family) throws {
        let key = try AsymmetricKey.generate(family)
        let privatePEM = try key.privateKeyPEM()
        let publicPEM = try key.publicKeyPEM()
        #expect(privatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        let reloaded = try AsymmetricKey(pem: privatePEM)
        #expect(reloaded.isPrivate && reloaded.family == family)
        #expect(try reloaded.publicKeyPEM() == publicPEM)
        let publicOnly = try AsymmetricKey(pem: publicPEM)
        #expect(!publicOnly.isPrivate && publicOnly.family == family)
        #expect(throws: CryptoError.invalidKey) { try publicOnly.privateKeyPEM() }
    }

    @Test("two generated keys differ")
    func generatedKeysDiffer() throws {
        #expect(try AsymmetricKey.generate(.p256).publicKeyPEM() != AsymmetricKey.generate(.p256).publicKeyPEM())
    }

    @Test("encrypted PEM text is refused without ever asking for a pass phrase", arguments: [
        Self.encryptedPKCS8,
        "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,9E2C9985B07056B66FB68297C4B7878F\n\nAAAA\n-----END EC PRIVATE KEY-----\n",
    ])
    func encryptedText(pem: String) {
        #expect(throws: CryptoError.encryptedKey) { try AsymmetricKey(pem: pem) }
        #expect(throws: CryptoError.encryptedKey) { try JWTKey.pem(pem, algorithm: .es256) }
    }

    @Test("garbage, empty, truncated or corrupted PEM is refused")
    func garbagePEM() throws {
        let good = try Fixture.p256.publicKeyPEM()
        var corrupted = Array(good)
        corrupted[40] = corrupted[40] == "A" ? "B" : "A"
        let cases = [
            "", "garbage", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            String(good.prefix(good.count / 2)), String(corrupted), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ]
        for pem in cases {
            #expect(throws: CryptoError.invalidKey, "\(pem)") { try AsymmetricKey(pem: pem) }
        }
    }

    @Test("an HS256 key cannot come from a PEM")
    func hs256FromPEM() throws {
        #expect(throws: CryptoError.unsupportedKey) { try JWTKey.pem(Fixture.p256.publicKeyPEM(), algorithm: .hs256) }
    }

    @Test("CryptoError messages never contain key material")
    func errorMessages() {
        #expect(CryptoError.weakSecret.description == "HMAC secret shorter than 32 bytes")
        #expect(CryptoError.weakSecret != CryptoError.invalidKey)
        #expect(CryptoError.invalidKey("x") == CryptoError.invalidKey)
    }

    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:x`
    static let encryptedPKCS8 = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgngB8DTCIVSQICCAAw
        DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEED4WgjEiZ7oTxqx4YrJnNSwEgZCW
        5K1dKY6v6gqqdcbw+WjMfbBRsihi+bqrYjiJ5GfU7tnuQ8/XS74TXpuWJPRTvZYD
        3DTOYgnL5IFoVv8asZ+7pj3CSMj1BjdQEwLvbM4mlPL6hYdt4sFe5zdMwSVRA9ze
        SGwUZ61IVXci7pfxYRJE3zCxUgWVMUDyGApzGLAUecBA8iQIAwaNzdQ9j1fFD0Q=
        -----END ENCRYPTED PRIVATE KEY-----

        """
}
