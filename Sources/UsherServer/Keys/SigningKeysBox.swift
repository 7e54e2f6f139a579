import Synchronization

/// The signing keys currently served; replaced whole when the key ring on disk changes.
final class SigningKeysBox: Sendable {
    private let keys: Mutex<SigningKeys>

    init(_ keys: SigningKeys) {
        self.keys = Mutex(keys)
    }

    var current: SigningKeys { keys.withLock { $0 } }

    func replace(with keys: SigningKeys) {
        self.keys.withLock { $0 = keys }
    }
}
