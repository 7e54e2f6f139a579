import Foundation
import Logging
import ServiceLifecycle
import UsherCore
import UsherNIO

/// Picks up changes to the key directory (apps, secrets, signing keys) without a restart: polls every
/// `keyReloadInterval` and reloads at once on SIGHUP. An invalid directory is logged and the last good state kept.
struct KeyReloader: Service {
    let configuration: UsherConfiguration
    let registry: AppRegistryBox
    let signingKeys: SigningKeysBox
    let logger: Logger
    /// Refreshed from `keys/relay.token` when given.
    var relayToken: RelayToken? = nil

    func run() async {
        await watchKeyDirectory(configuration.keysDirectory, every: configuration.keyReloadInterval) { reload() }
    }

    /// Builds the new state completely before swapping it in, so requests see the old or the new keys, never a mix.
    @discardableResult
    func reload() -> Bool {
        let keys = KeyDirectory(path: configuration.keysDirectory)
        do {
            let now = Date()
            let apps = try AppRegistry(apps: try AppCredentialStore(directory: keys).loadAll(), configuration: configuration, now: now)
            let signing = try SigningKeyStore(directory: keys).load(now: now)
            let token = try relayToken.map { _ throws(ServerError) in try RelayToken.read(from: keys) }
            registry.replace(with: apps)
            signingKeys.replace(with: signing)
            if let token { relayToken?.replace(with: token) }
            logger.info("keys reloaded", metadata: ["usher.apps": "\(apps.count)", "usher.kid": "\(signing.ring.active?.kid ?? "none")"])
            return true
        } catch {
            logger.error("key directory is invalid; keeping the previous keys", metadata: ["usher.error": "\(error)"])
            return false
        }
    }
}
