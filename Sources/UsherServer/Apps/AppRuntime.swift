import Foundation
import UsherCore
import UsherCrypto

/// One app, ready to serve: credentials, its signer, identity verifier, policy and limits, built once at load.
struct AppRuntime: Sendable {
    let app: App
    let authorizer: ChannelAuthorizer
    let policy: ChannelPolicy
    let identity: IdentityVerifier?
    let limits: PresenceLimits
    let corsOrigins: Set<String>
    /// Dev mode: requests without a token are served as anonymous users.
    let allowsAnonymous: Bool

    init(app: App, settings: AppSettings?, dev: Bool, now: Date) throws(ServerError) {
        self.app = app
        do {
            authorizer = try app.authorizer(at: now)
        } catch {
            throw .keyDirectory("app \(app.id): \(error.message)")
        }
        // Without configured rules, dev mode lets everything through; otherwise nothing is allowed (403).
        let rules = settings?.channelRules ?? (dev ? [ChannelRule(pattern: "*")] : [])
        do { policy = try ChannelPolicy(rules: rules) } catch { throw .invalidConfiguration("app \(app.id): \(error.message)") }
        identity = settings?.identity.map(IdentityVerifier.init(settings:))
        limits = settings?.presence ?? PresenceLimits()
        corsOrigins = Set(settings?.corsOrigins ?? [])
        allowsAnonymous = dev
    }
}
