public import Foundation
import UsherCore

/// Validates a configuration and the key files it needs the way `usher serve` loads them at start-up, without serving
/// and without creating or changing anything (`usher config check`). Throws the error start-up would stop with;
/// returns what it found, one line each, never a secret.
///
/// ```swift
/// var configuration = UsherConfiguration()
/// try ConfigurationLoader.load(file: "usher.yaml", into: &configuration)
/// for line in try checkConfiguration(configuration) { print(line) }
/// ```
public func checkConfiguration(_ configuration: UsherConfiguration, now: Date = Date()) throws(ServerError) -> [String] {
    let keys = KeyDirectory(path: configuration.keysDirectory)
    var lines: [String] = []
    let apps = try AppCredentialStore(directory: keys).loadAll()
    let registry = try AppRegistry(apps: apps, configuration: configuration, now: now)
    if apps.isEmpty {
        lines.append("apps: none in \(configuration.keysDirectory)/apps" + (configuration.dev ? " (--dev creates one on start)" : ""))
    } else {
        lines.append("apps: \(registry.count) (\(apps.map(\.id).joined(separator: ", "))) from \(configuration.keysDirectory)/apps")
    }
    for settings in configuration.apps {
        let identity = settings.identity.map { "\($0.keys.count) identity key(s)" } ?? "no identity (only --dev anonymous access)"
        lines.append("app \(settings.id): \(settings.channelRules.count) channel rule(s), \(identity)"
            + (settings.webhooks != nil ? ", webhooks" : ""))
    }
    if keys.exists(SigningKeyStore.ringFile) {
        let signing = try SigningKeyStore(directory: keys).load(now: now)
        lines.append("signing keys: \(signing.verificationKeys.count) verifying, active \(signing.ring.active?.kid ?? "none")")
    } else {
        lines.append("signing keys: none yet (usher serve creates the first)")
    }
    if keys.exists("relay.token") {
        _ = try RelayToken.read(from: keys)
        lines.append("relay token: \(configuration.keysDirectory)/relay.token")
    } else {
        lines.append("relay token: none yet (usher serve creates \(configuration.keysDirectory)/relay.token)")
    }
    if let settings = try SelectedStore.postgresSettings(configuration) {
        lines.append("store: PostgreSQL \(settings.redactedURL) (not contacted)")
    } else {
        lines.append("store: memory")
    }
    lines.append("listen: \(configuration.host):\(configuration.port)")
    return lines
}
