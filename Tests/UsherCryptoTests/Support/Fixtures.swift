import Foundation
@testable import UsherCrypto

/// Shared fixtures: a fixed clock, a 32-byte HS256 secret, and one key per family generated once per run.
enum Fixture {
    static let epoch: Int64 = 1_700_000_000
    static let now = Date(timeIntervalSince1970: Double(epoch))
    /// 32 bytes, the shortest secret `JWTKey.hmac` accepts.
    static let secret: [UInt8] = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

    static let p256 = generate(.p256)
    static let rsa = generate(.rsa)
    static let ed25519 = generate(.ed25519)

    /// The private key the fixture signs `algorithm` tokens with (`nil` for HS256).
    static func privateKey(for algorithm: JWTAlgorithm) -> AsymmetricKey? {
        switch algorithm {
        case .hs256: nil
        case .es256: p256
        case .rs256: rsa
        case .edDSA: ed25519
        }
    }

    /// A verification key for `algorithm`: the HMAC secret, or the public half loaded back from PEM.
    static func verificationKey(for algorithm: JWTAlgorithm, kid: String? = nil) throws -> JWTKey {
        guard let key = privateKey(for: algorithm) else { return try .hmac(secret: secret, kid: kid) }
        return try .pem(key.publicKeyPEM(), algorithm: algorithm, kid: kid)
    }

    static func verifier(for algorithm: JWTAlgorithm, kid: String? = nil, _ configuration: JWTVerifier.Configuration = .init()) throws -> JWTVerifier {
        JWTVerifier(keys: [try verificationKey(for: algorithm, kid: kid)], configuration: configuration)
    }

    private static func generate(_ family: AsymmetricKey.Family) -> AsymmetricKey {
        do { return try AsymmetricKey.generate(family) } catch { fatalError("cannot generate a \(family) key: \(error)") }
    }
}

/// Builds compact tokens by hand, so the verifier is not only tested against our own `JWTSigner`.
enum Token {
    static let hs256Header = #"{"alg":"HS256","typ":"JWT"}"#

    static func segment(_ json: String) -> String { Base64.urlEncode(Array(json.utf8)) }

    /// A payload with `exp` (one minute after the fixture clock unless given) and extra members.
    static func payload(exp: Int64? = Fixture.epoch + 60, _ extra: String = "") -> String {
        var members = [#""sub":"alice""#]
        if let exp { members.append(#""exp":\#(exp)"#) }
        if !extra.isEmpty { members.append(extra) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// HS256 over `header.payload`, MACed with `HMACKey` rather than libjwt.
    static func hs256(header: String = hs256Header, payload: String = payload(), secret: [UInt8] = Fixture.secret) -> String {
        let input = segment(header) + "." + segment(payload)
        return input + "." + Base64.urlEncode(HMACKey(secret: secret).mac(input))
    }

    /// A token whose header names `algorithm`, signed by the fixture key for it.
    static func make(_ algorithm: JWTAlgorithm, header: String? = nil, payload: String = payload()) throws -> String {
        let header = header ?? #"{"alg":"\#(algorithm.rawValue)","typ":"JWT"}"#
        guard let key = Fixture.privateKey(for: algorithm) else { return hs256(header: header, payload: payload) }
        return try asymmetric(header: header, payload: payload, key: key, algorithm: algorithm)
    }

    static func asymmetric(header: String, payload: String, key: AsymmetricKey, algorithm: JWTAlgorithm) throws -> String {
        let input = segment(header) + "." + segment(payload)
        let signature = try SignatureEngine.sign(Array(input.utf8), key: .asymmetric(key, algorithm: algorithm))
        return input + "." + Base64.urlEncode(signature)
    }

    static func parts(_ token: String) -> [String] {
        token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// `token` with one bit of the decoded segment `index` (0 header, 1 payload, 2 signature) flipped.
    static func flippingBit(_ bit: Int, ofSegment index: Int, in token: String) -> String {
        var parts = parts(token)
        var bytes = Base64.urlDecode(parts[index])!
        bytes[bit / 8] ^= 1 << UInt8(bit % 8)
        parts[index] = Base64.urlEncode(bytes)
        return parts.joined(separator: ".")
    }

    /// The decoded bytes of segment `index`.
    static func decoded(_ token: String, segment index: Int) -> [UInt8] {
        Base64.urlDecode(parts(token)[index]) ?? []
    }
}
