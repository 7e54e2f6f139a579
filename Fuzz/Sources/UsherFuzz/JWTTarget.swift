import Foundation
@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer

/// `JWTVerifier` (Crypto) and the token checks of the server: app identity tokens (`IdentityVerifier`) and channel
/// tokens (`ChannelTokens`).
///
/// Input: byte 0 picks the verifier (HS256, ES256, RS256, EdDSA, two keys with `kid`s, or HS256 with issuer and
/// audience) and the mode: a raw token (the rest of the input as text), or a token the harness signs from the rest
/// (header JSON, a 0 byte, payload JSON) with the verifier's own key or another one.
///
/// Properties: a token is accepted only if it was signed here with a key the verifier holds (never a raw token, never
/// another key: no algorithm confusion), and then its header names that key's algorithm and no `crit`, its payload
/// is the claims returned, and `exp`, `nbf`, `iat`, `iss`, `aud` hold at the verifier's clock. The identity verifier
/// yields a non-empty user id and an object or no user_info; a channel token issued for a subject verifies back for
/// its channel and socket.
enum JWTTarget {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static let leeway = 30.0

    /// The HS256 secrets of keys 0 and 4.
    static let secrets = [0: Array("jwt-fuzz-secret-0123456789abcdef".utf8), 4: Array("jwt-fuzz-secret-with-kid-a-0123456789".utf8)]

    /// The keys tokens are signed with: index 0 HS256, 1 ES256, 2 RS256, 3 EdDSA, 4 HS256 with kid "a", 5 ES256 with kid "b".
    static let keys: [JWTKey] = {
        do {
            return [
                try .hmac(secret: secrets[0]!),
                try .asymmetric(.generate(.p256), algorithm: .es256),
                try .asymmetric(.generate(.rsa), algorithm: .rs256),
                try .asymmetric(.generate(.ed25519), algorithm: .edDSA),
                try .hmac(secret: secrets[4]!, kid: "a"),
                try .asymmetric(.generate(.p256), algorithm: .es256, kid: "b"),
            ]
        } catch {
            fail("cannot make JWT keys: \(error)")
        }
    }()

    /// Verifiers with the indices of the keys they trust, and their claim checks.
    static let verifiers: [(verifier: JWTVerifier, trusts: Set<Int>, issuer: String?, audience: String?)] = [
        (JWTVerifier(keys: [keys[0]], configuration: .init(leeway: leeway)), [0], nil, nil),
        (JWTVerifier(keys: [keys[1]], configuration: .init(leeway: leeway)), [1], nil, nil),
        (JWTVerifier(keys: [keys[2]], configuration: .init(leeway: leeway)), [2], nil, nil),
        (JWTVerifier(keys: [keys[3]], configuration: .init(leeway: leeway)), [3], nil, nil),
        (JWTVerifier(keys: [keys[4], keys[5]], configuration: .init(leeway: leeway)), [4, 5], nil, nil),
        (JWTVerifier(keys: [keys[0]], configuration: .init(issuer: "https://issuer.example", audience: "fuzz", leeway: leeway)), [0], "https://issuer.example", "fuzz"),
    ]

    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = FuzzReader(data)
        let selector = reader.byte()
        let (verifier, trusts, issuer, audience) = verifiers[Int(selector & 7) % verifiers.count]
        let signs = selector & 8 != 0
        let signer = Int(selector >> 4) % (keys.count + 1)  // keys.count: the identity secret of app `fuzz`
        let token: String
        if signs {
            let parts = Array(reader.rest).split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            let input = Base64.urlEncode(parts[0]) + "." + Base64.urlEncode(parts.count > 1 ? parts[1] : [])
            let key = signer < keys.count ? keys[signer] : (try? JWTKey.hmac(secret: ServerFuzzing.Fixture.identitySecret))
            guard let key, let signature = try? CryptoFuzzing.signature(of: Array(input.utf8), key: key) else {
                fail("the harness could not sign")
            }
            token = input + "." + Base64.urlEncode(signature)
        } else {
            token = String(decoding: reader.rest, as: UTF8.self)
        }

        if let claims = try? verifier.verify(token, now: now) {
            // A raw token can only be right by carrying the MAC of one of the verifier's HS256 secrets.
            let signedBy = signs ? signer : trusts.first { secrets[$0].map { isMACed(token, secret: $0) } ?? false }
            guard let signedBy, trusts.contains(signedBy) else { fail("a token not signed with a trusted key was accepted: \(token)") }
            checkAccepted(token, claims: claims, algorithm: keys[signedBy].algorithm, issuer: issuer, audience: audience)
        }
        if let identity = fixture.identity(token: token) {
            check(
                signs ? signer == keys.count : isMACed(token, secret: ServerFuzzing.Fixture.identitySecret),
                "app fuzz accepted an identity token not signed with its secret: \(token)")
            check(!identity.userID.isEmpty, "an identity with an empty user id: \(token)")
            if let info = identity.userInfo, case .object = info {} else if identity.userInfo != nil {
                fail("an identity whose user_info is not an object: \(token)")
            }
        }
        if !signs {
            check(fixture.verifyChannelToken(token, channel: nil, socketID: nil) == nil, "a raw channel token was accepted: \(token)")
        } else if let payload = try? JSONValue.parse(bytes: Array(reader.rest).split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false).last ?? []),
            case .string(let sub)? = payload["sub"], !sub.isEmpty, let channel = payload["channel"]?.stringValue
        {
            let socket = payload["socket_id"]?.stringValue
            let info = payload["info"].flatMap { $0 == .null ? nil : $0 }
            if let issued = fixture.issueChannelToken(userID: sub, userInfo: info, channel: channel, socketID: socket) {
                guard let claims = fixture.verifyChannelToken(issued, channel: channel, socketID: socket) else {
                    fail("an issued channel token does not verify: \(issued)")
                }
                check(claims.subject == sub && claims["channel"]?.stringValue == channel, "an issued channel token's claims differ: \(claims)")
            }
        }
    }

    /// Whether `token`'s signature is the HS256 MAC of its first two segments under `secret`.
    static func isMACed(_ token: String, secret: [UInt8]) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let signature = Base64.urlDecode(parts[2]) else { return false }
        return HMACKey(secret: secret).mac(Array("\(parts[0]).\(parts[1])".utf8)) == signature
    }

    private static func checkAccepted(_ token: String, claims: JWTClaims, algorithm: JWTAlgorithm, issuer: String?, audience: String?) {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        check(segments.count == 3, "an accepted token has \(segments.count) segments")
        guard let headerBytes = Base64.urlDecode(segments[0]), case .object(let header)? = try? JSONValue.parse(bytes: headerBytes),
            let payloadBytes = Base64.urlDecode(segments[1]), case .object(let payload)? = try? JSONValue.parse(bytes: payloadBytes)
        else { fail("an accepted token's header or payload is not a JSON object: \(token)") }
        check(header["alg"] == .string(algorithm.rawValue), "accepted with alg \(String(describing: header["alg"])) for a \(algorithm) key")
        check(header["crit"] == nil, "accepted with crit: \(token)")
        if let typ = header["typ"] { check(typ.stringValue?.uppercased() == "JWT", "accepted with typ \(typ)") }
        check(payload == claims.payload, "the claims are not the payload: \(token)")
        func seconds(_ value: JSONValue?) -> Double? {
            switch value {
            case .integer(let number)?: Double(number)
            case .double(let number)? where number.isFinite: number
            default: nil
            }
        }
        let now = now.timeIntervalSince1970
        guard let exp = seconds(payload["exp"]) else { fail("accepted without a numeric exp: \(token)") }
        check(now < exp + leeway, "accepted after exp: \(token)")
        for name in ["nbf", "iat"] where payload[name] != nil {
            guard let value = seconds(payload[name]) else { fail("accepted with a non-numeric \(name): \(token)") }
            check(value <= now + leeway, "accepted before \(name): \(token)")
        }
        if let issuer { check(payload["iss"] == .string(issuer), "accepted with another issuer: \(token)") }
        if let audience {
            let matches = switch payload["aud"] {
            case .string(let aud)?: aud == audience
            case .array(let auds)?: auds.contains(.string(audience))
            default: false
            }
            check(matches, "accepted for another audience: \(token)")
        }
    }
}
