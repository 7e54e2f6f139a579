import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UsherCore
import UsherNIO

/// The apps a relay serves (clients by key, triggers by id), replaced whole when the key directory changes.
final class AppTable: Sendable {
    private struct Index {
        var byKey: [String: App]
        var byID: [String: App]

        init(_ apps: [App]) {
            byKey = Dictionary(apps.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            byID = Dictionary(apps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private let index: Mutex<Index>

    init(_ apps: [App]) {
        index = Mutex(Index(apps))
    }

    func byKey(_ key: String) -> App? { index.withLock { $0.byKey[key] } }
    func byID(_ id: String) -> App? { index.withLock { $0.byID[id] } }
    var count: Int { index.withLock { $0.byID.count } }

    func replace(with apps: [App]) {
        index.withLock { $0 = Index(apps) }
    }
}

/// Reloads `keys/apps/*.json` when the files change (looked at every second) and at once on SIGHUP, like
/// `usher serve`: a rotated secret verifies triggers without a restart, an added app is served, a removed one is
/// refused to new clients (connected ones stay). A directory that fails to load is logged; the previous apps stay.
struct AppReloader: Service {
    let directory: String
    let apps: AppTable
    let interval: Duration
    let logger: Logger

    func run() async {
        await watchKeyDirectory(directory, every: interval) { reload() }
    }

    @discardableResult
    func reload() -> Bool {
        do {
            let loaded = try RelayKeys.loadApps(from: directory)
            guard !loaded.isEmpty else { throw RelayError.configuration("no apps/*.json") }
            apps.replace(with: loaded)
            logger.info("apps reloaded", metadata: ["usher.apps": "\(loaded.map(\.id))"])
            return true
        } catch {
            logger.error("app files are invalid; keeping the previous apps", metadata: ["usher.error": "\(error)"])
            return false
        }
    }
}
