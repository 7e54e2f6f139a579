import Foundation
import Logging
import UsherCrypto

/// Verifies an app's identity tokens and turns their claims into an ``Identity``.
struct IdentityVerifier: Sendable {
    let verifier: JWTVerifier
    let cookie: String?
    let leeway: Double
    let cache = VerifiedTokenCache()

    init(settings: IdentitySettings) {
        let configuration = JWTVerifier.Configuration(
            issuer: settings.issuer, audience: settings.audience, leeway: Double(settings.leewaySeconds)
        )
        verifier = JWTVerifier(keys: settings.keys, configuration: configuration)
        cookie = settings.cookie
        leeway = Double(settings.leewaySeconds)
    }

    /// Verifies `token`; the JWT failure detail goes to the log only (callers see invalid vs expired).
    func identity(token: Substring, now: Date, logger: Logger) throws(ServerError) -> Identity {
        let digest = SHA256.hash(token.utf8)
        if let cached = cache.identity(for: digest, now: now.timeIntervalSince1970) { return cached }
        let identity = try verify(token, now: now, logger: logger)
        if let exp = identity.claims?.expiresAt { cache.store(identity, for: digest, expiresAt: exp + leeway) }
        return identity
    }

    private func verify(_ token: Substring, now: Date, logger: Logger) throws(ServerError) -> Identity {
        let claims: JWTClaims
        do {
            claims = try verifier.verify(token, now: now)
        } catch {
            logger.info("identity token refused", metadata: ["usher.reason": "\(error.description)"])
            throw error == .expired ? .expiredIdentity : .invalidIdentity
        }
        guard let subject = claims.subject, !subject.isEmpty else {
            logger.info("identity token refused", metadata: ["usher.reason": "no sub claim"])
            throw .invalidIdentity
        }
        let userInfo = claims["user_info"]
        if let userInfo, case .object = userInfo {} else if userInfo != nil && userInfo != .null {
            throw .malformedRequest("the user_info claim must be an object")
        }
        return Identity(userID: subject, userInfo: userInfo == .null ? nil : userInfo, claims: claims)
    }
}
