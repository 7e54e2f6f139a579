import Foundation
import Testing
@testable import UsherCrypto

/// Registered claims checked in Swift against an injected clock, after the signature.
@Suite struct JWTClaimsTests {
    static let t = Fixture.epoch

    func verify(_ payload: String, leeway: Double = 0, issuer: String? = nil, audience: String? = nil) throws(JWTError) -> JWTClaims {
        let configuration = JWTVerifier.Configuration(issuer: issuer, audience: audience, leeway: leeway)
        let verifier = JWTVerifier(keys: [try! .hmac(secret: Fixture.secret)], configuration: configuration)
        return try verifier.verify(Token.hs256(payload: payload), now: Fixture.now)
    }

    @Test("exp in the past, or exactly now with no leeway, is expired", arguments: [t - 3600, t - 1, t])
    func expired(exp: Int64) {
        #expect(throws: JWTError.expired) { try verify(Token.payload(exp: exp)) }
    }

    @Test("exp one second ahead passes with no leeway")
    func notYetExpired() throws {
        #expect(try verify(Token.payload(exp: Self.t + 1)).expiresAt == Double(Self.t + 1))
    }

    @Test("leeway forgives expiry up to, not including, its length")
    func expiryLeeway() throws {
        #expect(try verify(Token.payload(exp: Self.t - 29), leeway: 30).subject == "alice")
        #expect(throws: JWTError.expired) { try verify(Token.payload(exp: Self.t - 30), leeway: 30) }
        #expect(try verify(#"{"exp":\#(Double(Self.t) + 0.5)}"#).expiresAt == Double(Self.t) + 0.5)
        #expect(throws: JWTError.expired) { try verify(#"{"exp":\#(Double(Self.t) - 0.5)}"#) }
    }

    @Test("the default leeway is 30 seconds")
    func defaultLeeway() throws {
        let verifier = JWTVerifier(keys: [try .hmac(secret: Fixture.secret)])
        #expect(try verifier.verify(Token.hs256(payload: Token.payload(exp: Self.t - 29)), now: Fixture.now).subject == "alice")
        #expect(throws: JWTError.expired) { try verifier.verify(Token.hs256(payload: Token.payload(exp: Self.t - 31)), now: Fixture.now) }
    }

    @Test("a token without exp is refused")
    func missingExpiry() {
        #expect(throws: JWTError.missingExpiry) { try verify(Token.payload(exp: nil)) }
        #expect(throws: JWTError.missingExpiry) { try verify("{}") }
    }

    @Test("a registered time claim of the wrong type is invalid", arguments: [
        #"{"exp":"1700000060"}"#, #"{"exp":null}"#, #"{"exp":true}"#, #"{"exp":[1700000060]}"#, #"{"exp":{}}"#,
        #"{"exp":1700000060,"nbf":"0"}"#, #"{"exp":1700000060,"iat":null}"#, #"{"exp":1700000060,"nbf":false}"#,
    ])
    func wrongTypes(payload: String) {
        #expect(throws: JWTError.invalidClaims) { try verify(payload) }
    }

    @Test("nbf or iat in the future is not yet valid; at now, or within leeway, it passes", arguments: ["nbf", "iat"])
    func notBefore(claim: String) throws {
        #expect(throws: JWTError.notYetValid) { try verify(Token.payload(#""\#(claim)":\#(Self.t + 1)"#)) }
        #expect(throws: JWTError.notYetValid) { try verify(Token.payload(#""\#(claim)":\#(Self.t + 31)"#), leeway: 30) }
        #expect(try verify(Token.payload(#""\#(claim)":\#(Self.t)"#)).subject == "alice")
        #expect(try verify(Token.payload(#""\#(claim)":\#(Self.t + 30)"#), leeway: 30).subject == "alice")
        #expect(try verify(Token.payload(#""\#(claim)":\#(Self.t - 100)"#)).subject == "alice")
    }

    @Test("expiry is checked before nbf")
    func order() {
        #expect(throws: JWTError.expired) { try verify(Token.payload(exp: Self.t - 10, #""nbf":\#(Self.t + 10)"#)) }
    }

    @Test("iss must equal the configured issuer exactly")
    func issuer() throws {
        let issuer = "https://app.example"
        #expect(try verify(Token.payload(#""iss":"https://app.example""#), issuer: issuer).subject == "alice")
        for member in [#""iss":"https://evil.example""#, #""iss":"https://app.example/""#, #""iss":"HTTPS://APP.EXAMPLE""#,
                       #""iss":["https://app.example"]"#, #""iss":1"#, ""] {
            #expect(throws: JWTError.invalidIssuer, "\(member)") { try verify(Token.payload(member), issuer: issuer) }
        }
        #expect(try verify(Token.payload(#""iss":"anyone""#)).subject == "alice")
    }

    @Test("aud must name the configured audience, as a string or inside an array")
    func audience() throws {
        let audience = "usher"
        for member in [#""aud":"usher""#, #""aud":["other","usher"]"#, #""aud":["usher"]"#] {
            #expect(try verify(Token.payload(member), audience: audience).subject == "alice")
        }
        for member in [#""aud":"other""#, #""aud":["other"]"#, #""aud":[]"#, #""aud":"Usher""#, #""aud":"usher2""#,
                       #""aud":[["usher"]]"#, #""aud":null"#, #""aud":1"#, ""] {
            #expect(throws: JWTError.invalidAudience, "\(member)") { try verify(Token.payload(member), audience: audience) }
        }
        #expect(try verify(Token.payload(#""aud":"someone-else""#)).subject == "alice")
    }

    @Test("claims expose the payload; an integer sub reads as text")
    func claimsAccessors() throws {
        let claims = try verify(#"{"exp":\#(Self.t + 60),"sub":10,"name":"Zoë","n":1.5}"#)
        #expect(claims.subject == "10")
        #expect(claims["name"] == .string("Zoë"))
        #expect(claims["n"] == .double(1.5))
        #expect(claims.payload.count == 4)
        #expect(try verify(Token.payload(exp: Self.t + 60).replacingOccurrences(of: #""sub":"alice""#, with: #""sub":true"#)).subject == nil)
    }
}
