import Foundation
import UsherCore
import UsherCrypto

/// Issues and checks channel tokens: JWTs a relay can verify offline via the JWKS. Claim names follow Centrifugo's
/// subscription tokens (`sub`, `channel`, `info`, `exp`) so such a relay can verify them too.
struct ChannelTokens: Sendable {
    let settings: TokenSettings

    /// Signs a token for `identity` on `channel` (bound to `socketID` when given) for `ttl` seconds (capped).
    func issue(
        with keys: SigningKeys, app: App, identity: Identity, channel: ChannelName, socketID: SocketID?, ttl: Int?, now: Date
    ) throws(ServerError) -> (token: String, expiresAt: Int64) {
        guard let signer = keys.signer else { throw .keyDirectory("no active signing key; run `usher keys rotate`") }
        let lifetime = min(max(ttl ?? settings.defaultTTLSeconds, 1), settings.maxTTLSeconds)
        let issuedAt = Int64(now.timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(settings.issuer), "aud": .string(app.key), "sub": .string(identity.userID),
            "channel": .string(channel.name), "iat": .integer(issuedAt), "nbf": .integer(issuedAt),
            "exp": .integer(issuedAt + Int64(lifetime)), "jti": .string(Hex.encode(SecureRandom.bytes(count: 16))),
        ]
        if let socketID { claims["socket_id"] = .string(socketID.description) }
        if let info = identity.userInfo { claims["info"] = info }
        let token: String
        do {
            token = try signer.sign(claims)
        } catch {
            // OpenSSL's reasons go nowhere near the client; signing fails only if the key or OpenSSL is broken.
            throw .keyDirectory("cannot sign the channel token")
        }
        // Never hand out a token that `verify` (and relays keeping the same bound) would refuse: a private channel's
        // token carries the identity's user_info unchecked by the presence limits.
        guard token.utf8.count <= Self.maxTokenBytes else {
            throw .malformedRequest("the channel token would be over \(Self.maxTokenBytes) bytes: the identity's user_info is too large")
        }
        return (token, issuedAt + Int64(lifetime))
    }

    /// The largest token `verify` accepts (`JWTVerifier`'s bound).
    static let maxTokenBytes = JWTVerifier.Configuration().maxTokenBytes

    /// Verifies a channel token for `app`, optionally for one channel and socket; returns its claims.
    func verify(
        _ token: String, with keys: SigningKeys, app: App, channel: ChannelName?, socketID: SocketID?, now: Date
    ) throws(ServerError) -> JWTClaims {
        let verifier = JWTVerifier(
            keys: keys.verificationKeys(at: now),
            configuration: .init(issuer: settings.issuer, audience: app.key, leeway: 5, maxTokenBytes: Self.maxTokenBytes)
        )
        let claims: JWTClaims
        do { claims = try verifier.verify(token, now: now) } catch {
            throw error == .expired ? .expiredIdentity : .invalidIdentity
        }
        guard claims.subject != nil, case .string(let tokenChannel)? = claims["channel"] else { throw .invalidIdentity }
        if let channel, tokenChannel != channel.name { throw .invalidIdentity }
        // A token bound to a socket is good for that socket only; callers that name no socket skip this check.
        if let bound = claims["socket_id"], let socketID, bound.stringValue != socketID.description { throw .invalidIdentity }
        return claims
    }
}
