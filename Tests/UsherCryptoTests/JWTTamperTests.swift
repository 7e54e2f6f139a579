import Testing
@testable import UsherCrypto

/// Flipped bits and truncations in every segment, for every algorithm: never accepted.
@Suite struct JWTTamperTests {
    /// Bit positions to flip in a segment of `byteCount` bytes: all of them for short segments, a spread for long ones.
    static func bits(in byteCount: Int) -> [Int] {
        let all = byteCount * 8
        return all <= 600 ? Array(0..<all) : Array(stride(from: 0, to: all, by: 5)) + [all - 1]
    }

    @Test("every flipped signature bit is an invalid signature", arguments: JWTAlgorithm.allCases)
    func flippedSignature(algorithm: JWTAlgorithm) throws {
        let verifier = try Fixture.verifier(for: algorithm)
        let token = try Token.make(algorithm)
        for bit in Self.bits(in: Token.decoded(token, segment: 2).count) {
            let tampered = Token.flippingBit(bit, ofSegment: 2, in: token)
            #expect(throws: JWTError.invalidSignature, "bit \(bit)") { try verifier.verify(tampered, now: Fixture.now) }
        }
    }

    @Test("every flipped payload bit is an invalid signature", arguments: JWTAlgorithm.allCases)
    func flippedPayload(algorithm: JWTAlgorithm) throws {
        let verifier = try Fixture.verifier(for: algorithm)
        let token = try Token.make(algorithm)
        for bit in Self.bits(in: Token.decoded(token, segment: 1).count) {
            let tampered = Token.flippingBit(bit, ofSegment: 1, in: token)
            #expect(throws: JWTError.invalidSignature, "bit \(bit)") { try verifier.verify(tampered, now: Fixture.now) }
        }
    }

    @Test("every flipped header bit is refused", arguments: JWTAlgorithm.allCases)
    func flippedHeader(algorithm: JWTAlgorithm) throws {
        let verifier = try Fixture.verifier(for: algorithm)
        let token = try Token.make(algorithm, header: #"{"alg":"\#(algorithm.rawValue)","typ":"JWT","x":"pad"}"#)
        for bit in Self.bits(in: Token.decoded(token, segment: 0).count) {
            let tampered = Token.flippingBit(bit, ofSegment: 0, in: token)
            // Depending on the bit: not JSON (malformed), another alg, or a header that no longer matches the signature.
            #expect(throws: JWTError.self, "bit \(bit)") { try verifier.verify(tampered, now: Fixture.now) }
        }
    }

    @Test("a header change that keeps it valid JSON is an invalid signature", arguments: JWTAlgorithm.allCases)
    func editedHeader(algorithm: JWTAlgorithm) throws {
        let token = try Token.make(algorithm)
        let edited = Token.segment(#"{"alg":"\#(algorithm.rawValue)"}"#) + "." + Token.parts(token)[1] + "." + Token.parts(token)[2]
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: algorithm).verify(edited, now: Fixture.now) }
    }

    @Test("truncated and extended signatures are refused", arguments: JWTAlgorithm.allCases)
    func truncatedSignature(algorithm: JWTAlgorithm) throws {
        let verifier = try Fixture.verifier(for: algorithm)
        let token = try Token.make(algorithm)
        let signature = Token.parts(token)[2]
        let input = token.dropLast(signature.count)
        for kept in [signature.count - 1, signature.count - 2, signature.count - 3, signature.count / 2, 1] {
            #expect(throws: JWTError.invalidSignature, "kept \(kept)") {
                try verifier.verify(input + signature.prefix(kept), now: Fixture.now)
            }
        }
        #expect(throws: JWTError.malformed) { try verifier.verify(input, now: Fixture.now) }
        let longer = Base64.urlEncode(Token.decoded(token, segment: 2) + [0])
        #expect(throws: JWTError.invalidSignature) { try verifier.verify(input + longer, now: Fixture.now) }
    }

    @Test("an all-zero signature of the right length is refused", arguments: JWTAlgorithm.allCases)
    func zeroSignature(algorithm: JWTAlgorithm) throws {
        let token = try Token.make(algorithm)
        let zeros = Base64.urlEncode([UInt8](repeating: 0, count: Token.decoded(token, segment: 2).count))
        let forged = Token.parts(token)[0] + "." + Token.parts(token)[1] + "." + zeros
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: algorithm).verify(forged, now: Fixture.now) }
    }

    @Test("a signature moved from another token of the same key is refused", arguments: JWTAlgorithm.allCases)
    func transplantedSignature(algorithm: JWTAlgorithm) throws {
        let mine = try Token.make(algorithm)
        let admin = try Token.make(algorithm, payload: Token.payload(#""admin":true"#))
        let forged = Token.parts(mine)[0] + "." + Token.parts(admin)[1] + "." + Token.parts(mine)[2]
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: algorithm).verify(forged, now: Fixture.now) }
    }

    @Test("a token signed by another key of the same algorithm is refused", arguments: [JWTAlgorithm.es256, .rs256, .edDSA])
    func otherKey(algorithm: JWTAlgorithm) throws {
        let family: AsymmetricKey.Family = switch algorithm {
        case .rs256: .rsa
        case .edDSA: .ed25519
        default: .p256
        }
        let stranger = try AsymmetricKey.generate(family)
        let token = try Token.asymmetric(header: #"{"alg":"\#(algorithm.rawValue)"}"#, payload: Token.payload(), key: stranger, algorithm: algorithm)
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: algorithm).verify(token, now: Fixture.now) }
        let otherSecret = Token.hs256(secret: Fixture.secret.map { $0 ^ 1 })
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: .hs256).verify(otherSecret, now: Fixture.now) }
    }

    @Test("an ES256 signature in DER form instead of raw r ‖ s is refused")
    func derSignature() throws {
        let token = try Token.make(.es256)
        let der = try #require(ECDSASignature.der(fromRaw: Token.decoded(token, segment: 2)))
        let forged = Token.parts(token)[0] + "." + Token.parts(token)[1] + "." + Base64.urlEncode(der)
        #expect(throws: JWTError.invalidSignature) { try Fixture.verifier(for: .es256).verify(forged, now: Fixture.now) }
    }
}
