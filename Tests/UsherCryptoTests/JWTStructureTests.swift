import Testing
@testable import UsherCrypto

/// Hostile token shapes: everything here must be refused before any signature library sees the token.
@Suite struct JWTStructureTests {
    let verifier: JWTVerifier
    init() throws { verifier = try Fixture.verifier(for: .hs256) }

    static let valid = Token.hs256()
    static let parts = Token.parts(valid)

    /// A valid HS256 token with a padding claim, sized to exactly `bytes`.
    static func token(ofSize bytes: Int) -> String? {
        for pad in 0..<bytes {
            let token = Token.hs256(payload: Token.payload(#""pad":"\#(String(repeating: "x", count: pad))""#))
            if token.utf8.count == bytes { return token }
            if token.utf8.count > bytes { break }
        }
        return nil
    }

    @Test("a well-formed HS256 token passes and returns its claims")
    func valid() throws {
        let claims = try verifier.verify(Self.valid, now: Fixture.now)
        #expect(claims.subject == "alice")
        #expect(claims.expiresAt == Double(Fixture.epoch + 60))
        #expect(claims["exp"] == .integer(Fixture.epoch + 60))
    }

    @Test("a 9 MB token is refused for its size before anything parses it")
    func hugeToken() {
        let huge = Self.parts[0] + "." + String(repeating: "A", count: 9_000_000) + "." + Self.parts[2]
        #expect(throws: JWTError.tokenTooLarge) { try verifier.verify(huge, now: Fixture.now) }
        let garbage = String(repeating: "%", count: 9_000_000)
        #expect(throws: JWTError.tokenTooLarge) { try verifier.verify(garbage, now: Fixture.now) }
    }

    @Test("a token of exactly 8192 bytes is not refused for size; one byte more is")
    func sizeCap() throws {
        let atCap = try #require(Self.token(ofSize: 8192))
        #expect(try verifier.verify(atCap, now: Fixture.now).subject == "alice")
        let overCap = try #require(Self.token(ofSize: 8193))
        #expect(throws: JWTError.tokenTooLarge) { try verifier.verify(overCap, now: Fixture.now) }
    }

    @Test("the size cap is configurable and counts UTF-8 bytes")
    func configuredCap() throws {
        let small = JWTVerifier(keys: [try .hmac(secret: Fixture.secret)], configuration: .init(maxTokenBytes: 64))
        #expect(throws: JWTError.tokenTooLarge) { try small.verify(Self.valid, now: Fixture.now) }
        let multibyte = String(repeating: "é", count: 33)
        #expect(throws: JWTError.tokenTooLarge) { try small.verify(multibyte, now: Fixture.now) }
    }

    static let malformedShapes: [String] = [
        "", ".", "..", "...", parts[0], parts[0] + "." + parts[1], valid + ".", valid + "." + parts[2], "." + valid,
        "." + parts[1] + "." + parts[2], parts[0] + ".." + parts[2], parts[0] + "." + parts[1] + ".",
        valid + "=", valid + " ", " " + valid, valid + "\n", valid.replacingOccurrences(of: ".", with: ". "),
        parts[0] + "." + parts[1] + "." + "+" + parts[2].dropFirst(), parts[0] + "." + parts[1] + "." + "/" + parts[2].dropFirst(),
        parts[0] + "." + parts[1] + "é." + parts[2], valid + "\u{0}", "Bearer " + valid, valid.replacingOccurrences(of: ".", with: "%2E"),
    ]

    @Test("wrong segment counts, empty segments and non-base64url characters are malformed", arguments: malformedShapes)
    func malformedShape(token: String) {
        #expect(throws: JWTError.malformed) { try verifier.verify(token, now: Fixture.now) }
    }

    @Test("a header that is not a JSON object is malformed, even when correctly MACed", arguments: [
        "not json", #"["alg","HS256"]"#, #""HS256""#, "42", "null", #"{"alg":"HS256""#, "", "{}x",
    ])
    func headerNotObject(header: String) {
        let token = Token.hs256(header: header)
        #expect(throws: JWTError.malformed) { try verifier.verify(token, now: Fixture.now) }
    }

    @Test("a correctly MACed header with non-canonical base64url or invalid UTF-8 is malformed")
    func headerEncoding() {
        // 22 bytes: the last character carries 4 unused bits, which canonical base64url leaves at zero.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var header = Array(Token.segment(#"{"alg":"HS256","x":12}"#))
        header[header.count - 1] = alphabet[alphabet.firstIndex(of: header.last!)! | 1]
        let input = String(header) + "." + Self.parts[1]
        let nonCanonical = input + "." + Base64.urlEncode(HMACKey(secret: Fixture.secret).mac(input))
        #expect(throws: JWTError.malformed) { try verifier.verify(nonCanonical, now: Fixture.now) }
        let badUTF8 = Base64.urlEncode([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]) + "." + Self.parts[1] + "." + Self.parts[2]
        #expect(throws: JWTError.malformed) { try verifier.verify(badUTF8, now: Fixture.now) }
    }

    @Test("alg none with an empty signature is malformed", arguments: [#"{"alg":"none"}"#, #"{"alg":"none","typ":"JWT"}"#])
    func noneUnsigned(header: String) {
        let token = Token.segment(header) + "." + Token.segment(Token.payload()) + "."
        #expect(throws: JWTError.malformed) { try verifier.verify(token, now: Fixture.now) }
    }

    @Test("alg none, any case, with a signature is an unsupported algorithm", arguments: ["none", "None", "NONE", "nOnE"])
    func noneSigned(alg: String) {
        let token = Token.hs256(header: #"{"alg":"\#(alg)","typ":"JWT"}"#)
        #expect(throws: JWTError.unsupportedAlgorithm) { try verifier.verify(token, now: Fixture.now) }
    }

    @Test("alg must be exactly one we support", arguments: [
        #""hs256""#, #""Hs256""#, #""HS256 ""#, #"" HS256""#, #""HS384""#, #""HS512""#, #""PS256""#, #""ES256K""#,
        #""ED25519""#, #""""#, "256", "null", #"["HS256"]"#, #"{"alg":"HS256"}"#,
    ])
    func unsupportedAlg(alg: String) {
        let token = Token.hs256(header: #"{"alg":\#(alg),"typ":"JWT"}"#)
        #expect(throws: JWTError.unsupportedAlgorithm) { try verifier.verify(token, now: Fixture.now) }
    }

    @Test("a header without alg is an unsupported algorithm")
    func missingAlg() {
        #expect(throws: JWTError.unsupportedAlgorithm) { try verifier.verify(Token.hs256(header: #"{"typ":"JWT"}"#), now: Fixture.now) }
    }

    @Test("any crit header is refused, since we understand no extensions", arguments: [#"["exp"]"#, "[]", #""b64""#])
    func crit(value: String) {
        let token = Token.hs256(header: #"{"alg":"HS256","crit":\#(value),"exp":1}"#)
        #expect(throws: JWTError.unsupportedAlgorithm) { try verifier.verify(token, now: Fixture.now) }
    }

    @Test("typ may be JWT in any case, or absent; anything else is malformed (libjwt refuses other types)")
    func typ() throws {
        for header in [#"{"alg":"HS256"}"#, #"{"alg":"HS256","typ":"jwt"}"#, #"{"typ":"JWT","alg":"HS256"}"#] {
            #expect(try verifier.verify(Token.hs256(header: header), now: Fixture.now).subject == "alice")
        }
        for typ in [#""at+jwt""#, #""JOSE""#, "1", "null"] {
            let token = Token.hs256(header: #"{"alg":"HS256","typ":\#(typ)}"#)
            #expect(throws: JWTError.malformed) { try verifier.verify(token, now: Fixture.now) }
        }
    }

    @Test("duplicate header members are malformed, whichever copy a parser would keep", arguments: [
        #"{"alg":"HS256","alg":"none"}"#, #"{"alg":"none","alg":"HS256"}"#, #"{"alg":"HS256","alg":"HS256"}"#,
        #"{"alg":"HS256","kid":"a","kid":"b"}"#,
    ])
    func duplicateHeaderMembers(header: String) {
        #expect(throws: JWTError.malformed) { try verifier.verify(Token.hs256(header: header), now: Fixture.now) }
    }

    @Test("duplicate claims are malformed, even under a valid signature (RFC 7519 §4)")
    func duplicateClaims() {
        let payload = Token.payload(exp: Fixture.epoch - 10, #""exp":\#(Fixture.epoch + 3600)"#)
        #expect(throws: JWTError.malformed) { try verifier.verify(Token.hs256(payload: payload), now: Fixture.now) }
    }
}
