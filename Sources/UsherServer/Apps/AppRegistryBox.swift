import Synchronization

/// The registry currently served; swapped whole on reload so a request sees one consistent snapshot.
final class AppRegistryBox: Sendable {
    private let registry: Mutex<AppRegistry>

    init(_ registry: AppRegistry) {
        self.registry = Mutex(registry)
    }

    var current: AppRegistry { registry.withLock { $0 } }

    func replace(with registry: AppRegistry) {
        self.registry.withLock { $0 = registry }
    }
}
