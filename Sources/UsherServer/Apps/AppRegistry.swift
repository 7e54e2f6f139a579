import Foundation
import UsherCore

/// The apps a server serves, indexed by id and by key. Immutable: a reload builds a new registry.
struct AppRegistry: Sendable {
    private let byID: [String: AppRuntime]
    private let byKey: [String: AppRuntime]
    /// The union of every app's CORS origins (preflights carry no app).
    let corsOrigins: Set<String>

    init(apps: [App], configuration: UsherConfiguration, now: Date) throws(ServerError) {
        let settings = Dictionary(configuration.apps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for configured in configuration.apps where !apps.contains(where: { $0.id == configured.id }) {
            throw .invalidConfiguration(
                "apps: app \"\(configured.id)\" has no credentials in \(configuration.keysDirectory)/apps/; run `usher apps create --id \(configured.id)`"
            )
        }
        var byID: [String: AppRuntime] = [:]
        var byKey: [String: AppRuntime] = [:]
        for app in apps {
            let runtime = try AppRuntime(app: app, settings: settings[app.id], dev: configuration.dev, now: now)
            byID[app.id] = runtime
            guard byKey.updateValue(runtime, forKey: app.key) == nil else {
                throw .keyDirectory("two apps share the key \(app.key)")
            }
        }
        self.byID = byID
        self.byKey = byKey
        corsOrigins = Set(byID.values.flatMap(\.corsOrigins))
    }

    var count: Int { byID.count }

    /// Every app's relay-side features, by app id.
    var features: [String: AppFeatures] { byID.mapValues(\.features) }

    /// The app a request names by key or id, or the only app when it names none.
    func select(key: String?, id: String?) throws(ServerError) -> AppRuntime {
        if let key {
            guard let app = byKey[key] else { throw .unknownApp("unknown app key") }
            if let id, id != app.app.id { throw .unknownApp("app_id and app_key name different apps") }
            return app
        }
        if let id {
            guard let app = byID[id] else { throw .unknownApp("unknown app id") }
            return app
        }
        guard byID.count == 1, let only = byID.values.first else {
            throw byID.isEmpty ? .unknownApp("no apps are configured") : .malformedRequest("several apps are served: pass app_key or app_id")
        }
        return only
    }
}
