import Foundation
import UsherCore
import UsherCrypto

/// One app, ready to serve: credentials, its signer, identity verifier, policy and limits, built once at load.
/// A class (immutable, so still `Sendable`): every auth request looks one up, and handing out a struct this size
/// cost a retain and release per field, which showed in the fast path's profile.
final class AppRuntime: Sendable {
    let app: App
    private let loadedAuthorizer: ChannelAuthorizer
    /// When the loaded signer's secret reaches its `not_after`; after that the signer is chosen per request.
    private let authorizerValidUntil: Date?
    let policy: ChannelPolicy
    let identity: IdentityVerifier?
    let limits: PresenceLimits
    let corsOrigins: Set<String>
    /// What relays enforce for this app (sent with every node lease).
    let features: AppFeatures
    /// Dev mode: requests without a token are served as anonymous users.
    let allowsAnonymous: Bool

    init(app: App, settings: AppSettings?, dev: Bool, now: Date) throws(ServerError) {
        self.app = app
        do {
            loadedAuthorizer = try app.authorizer(at: now)
        } catch {
            throw .keyDirectory("app \(app.id): \(error.message)")
        }
        // Without configured rules, dev mode lets everything through; otherwise nothing is allowed (403).
        let rules = settings?.channelRules ?? (dev ? [ChannelRule(pattern: "*")] : [])
        do { policy = try ChannelPolicy(rules: rules) } catch { throw .invalidConfiguration("app \(app.id): \(error.message)") }
        identity = settings?.identity.map(IdentityVerifier.init(settings:))
        limits = settings?.presence ?? PresenceLimits()
        corsOrigins = Set(settings?.corsOrigins ?? [])
        features = AppFeatures(
            clientEventsPerSecond: settings?.clientEventsPerSecond ?? AppFeatures.defaultClientEventsPerSecond,
            watchlistMaxIDs: settings?.watchlistMaxIDs ?? 0,
            reportsClientEvents: settings?.webhooks?.events.contains(.clientEvent) ?? false,
            reportsCacheMisses: settings?.webhooks?.events.contains(.cacheMiss) ?? false,
            maxConnections: settings?.maxConnections ?? 0)
        allowsAnonymous = dev
        authorizerValidUntil = app.signingSecret(at: now)?.notAfter
    }

    /// The signer for `now`: the one built at load, unless its secret has since passed `not_after` without the files
    /// changing (only possible with hand-edited secrets; `apps rotate-secret` always adds one without an end).
    func authorizer(at now: Date) throws(CoreError) -> ChannelAuthorizer {
        guard let until = authorizerValidUntil, now >= until else { return loadedAuthorizer }
        return try app.authorizer(at: now)
    }
}
