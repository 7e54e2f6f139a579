import Testing
@testable import UsherCrypto

/// Keys and signatures from the `openssl` command-line tool: keys our API refuses to create, and signatures
/// made and checked by an implementation that is not ours.
@Suite(.enabled(if: OpenSSLTool.isAvailable, "needs the openssl command-line tool"))
struct OpenSSLInteropTests {
    static let p256 = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]

    @Test("encrypted PEMs made by openssl are refused as encrypted")
    func encrypted() throws {
        let pkcs8 = try OpenSSLTool.text(Self.p256 + ["-aes256", "-pass", "pass:x"])
        #expect(pkcs8.contains("BEGIN ENCRYPTED PRIVATE KEY"))
        #expect(throws: CryptoError.encryptedKey) { try AsymmetricKey(pem: pkcs8) }
        try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.run(Self.p256 + ["-out", "k.pem"], in: dir)
            let legacy = try OpenSSLTool.text(["ec", "-in", "k.pem", "-aes256", "-passout", "pass:x"], in: dir)
            #expect(legacy.contains("Proc-Type: 4,ENCRYPTED"))
            #expect(throws: CryptoError.encryptedKey) { try AsymmetricKey(pem: legacy) }
            // The same key unencrypted, in the legacy SEC1 form, loads.
            let sec1 = try OpenSSLTool.text(["ec", "-in", "k.pem"], in: dir)
            #expect(try AsymmetricKey(pem: sec1).family == .p256)
        }
    }

    @Test("keys outside P-256, RSA ≥ 2048 and Ed25519 are unsupported", arguments: [
        ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
        ["genpkey", "-algorithm", "ED448"],
        ["genpkey", "-algorithm", "X25519"],
    ])
    func unsupportedKeys(command: [String]) throws {
        try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.run(command + ["-out", "k.pem"], in: dir)
            let privatePEM = try OpenSSLTool.text(["pkey", "-in", "k.pem"], in: dir)
            let publicPEM = try OpenSSLTool.text(["pkey", "-in", "k.pem", "-pubout"], in: dir)
            #expect(throws: CryptoError.unsupportedKey) { try AsymmetricKey(pem: privatePEM) }
            #expect(throws: CryptoError.unsupportedKey) { try AsymmetricKey(pem: publicPEM) }
        }
    }

    @Test("RSA 2048 from openssl, in PKCS#1 and PKCS#8, loads")
    func rsaFromCLI() throws {
        try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "k.pem"], in: dir)
            let pkcs1 = try OpenSSLTool.text(["rsa", "-in", "k.pem", "-traditional"], in: dir)
            #expect(pkcs1.contains("BEGIN RSA PRIVATE KEY"))
            #expect(try AsymmetricKey(pem: pkcs1).family == .rsa)
            #expect(try AsymmetricKey(pem: OpenSSLTool.text(["pkey", "-in", "k.pem"], in: dir)).isPrivate)
        }
    }

    @Test("a certificate's public key verifies tokens of its private key")
    func certificate() throws {
        try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.write(Array(Fixture.p256.privateKeyPEM().utf8), to: "k.pem", in: dir)
            let cert = try OpenSSLTool.text(["req", "-x509", "-new", "-key", "k.pem", "-subj", "/CN=usher", "-days", "1"], in: dir)
            let key = try AsymmetricKey(pem: cert)
            #expect(!key.isPrivate && key.family == .p256)
            let verifier = JWTVerifier(keys: [try .asymmetric(key, algorithm: .es256)])
            #expect(try verifier.verify(Token.make(.es256), now: Fixture.now).subject == "alice")
        }
    }

    /// Signs `input` with openssl and the fixture key for `algorithm`; returns the JWS signature bytes.
    static func opensslSign(_ input: String, algorithm: JWTAlgorithm) throws -> [UInt8] {
        let key = try #require(Fixture.privateKey(for: algorithm))
        return try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.write(Array(key.privateKeyPEM().utf8), to: "k.pem", in: dir)
            try OpenSSLTool.write(Array(input.utf8), to: "input", in: dir)
            switch algorithm {
            case .edDSA:
                return try OpenSSLTool.run(["pkeyutl", "-sign", "-rawin", "-inkey", "k.pem", "-in", "input"], in: dir)
            case .es256:
                let der = try OpenSSLTool.run(["dgst", "-sha256", "-sign", "k.pem", "input"], in: dir)
                return try #require(KeyEncoding.rawECDSA(fromDER: der))
            default:
                return try OpenSSLTool.run(["dgst", "-sha256", "-sign", "k.pem", "input"], in: dir)
            }
        }
    }

    @Test("tokens signed by openssl verify", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func opensslSigned(algorithm: JWTAlgorithm) throws {
        let input = Token.segment(#"{"alg":"\#(algorithm.rawValue)"}"#) + "." + Token.segment(Token.payload())
        let signature = try Self.opensslSign(input, algorithm: algorithm)
        let token = input + "." + Base64.urlEncode(signature)
        #expect(try Fixture.verifier(for: algorithm).verify(token, now: Fixture.now).subject == "alice")
    }

    /// HMAC of `input` with the fixture secret, computed by openssl.
    static func opensslHMAC(_ input: String, digest: String) throws -> [UInt8] {
        try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.write(Array(input.utf8), to: "input", in: dir)
            let key = "hexkey:\(Hex.encode(Fixture.secret))"
            return try OpenSSLTool.run(["mac", "-digest", digest, "-macopt", key, "-binary", "-in", "input", "HMAC"], in: dir)
        }
    }

    @Test("HS256 tokens MACed by openssl verify")
    func opensslHMAC() throws {
        let input = Token.segment(Token.hs256Header) + "." + Token.segment(Token.payload())
        let token = input + "." + Base64.urlEncode(try Self.opensslHMAC(input, digest: "SHA256"))
        #expect(try Fixture.verifier(for: .hs256).verify(token, now: Fixture.now).subject == "alice")
    }

    @Test("the HS256 engine re-checks libjwt's algorithm: a correct HS512 MAC never passes", arguments: ["HS384", "HS512"])
    func libjwtAlgorithmRecheck(alg: String) throws {
        let input = Token.segment(#"{"alg":"\#(alg)","typ":"JWT"}"#) + "." + Token.segment(Token.payload())
        let mac = try Self.opensslHMAC(input, digest: "SHA" + alg.dropFirst(2))
        let token = input + "." + Base64.urlEncode(mac)
        // Straight to the engine, past the header guard that would already refuse the alg: libjwt alone accepts this.
        let key = try JWTKey.hmac(secret: Fixture.secret)
        let accepted = SignatureEngine.verify(token: Substring(token), signingInput: Substring(input), signature: mac, key: key)
        #expect(!accepted)
        #expect(throws: JWTError.unsupportedAlgorithm) { try Fixture.verifier(for: .hs256).verify(token, now: Fixture.now) }
    }

    @Test("our signatures verify with openssl", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func opensslVerifies(algorithm: JWTAlgorithm) throws {
        let key = try #require(Fixture.privateKey(for: algorithm))
        let token = try JWTSigner(key: .asymmetric(key, algorithm: algorithm)).sign(["exp": .integer(Fixture.epoch)])
        let parts = Token.parts(token)
        var signature = Token.decoded(token, segment: 2)
        if algorithm == .es256 { signature = KeyEncoding.derECDSA(fromRaw: signature) }
        let output = try OpenSSLTool.withScratchDirectory { dir in
            try OpenSSLTool.write(Array(key.publicKeyPEM().utf8), to: "pub.pem", in: dir)
            try OpenSSLTool.write(Array((parts[0] + "." + parts[1]).utf8), to: "input", in: dir)
            try OpenSSLTool.write(signature, to: "sig", in: dir)
            if algorithm == .edDSA {
                return try OpenSSLTool.text(["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "pub.pem", "-in", "input", "-sigfile", "sig"], in: dir)
            }
            return try OpenSSLTool.text(["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "input"], in: dir)
        }
        #expect(output.contains("Verified OK") || output.contains("Signature Verified Successfully"))
    }
}
