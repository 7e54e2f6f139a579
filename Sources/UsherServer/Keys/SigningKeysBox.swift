import Foundation
import Synchronization

/// The signing keys currently served; replaced whole when the key ring on disk changes.
final class SigningKeysBox: Sendable {
    private let keys: Mutex<SigningKeys>

    init(_ keys: SigningKeys) {
        self.keys = Mutex(keys)
    }

    /// The keys as of now. A retirement that passed since the last load applies here: the files did not change,
    /// so the reloader would not notice, yet the retired key must leave the JWKS and stop verifying.
    var current: SigningKeys {
        keys.withLock { keys in
            let now = Date()
            if let next = keys.nextRetirement, next <= now { keys = keys.refreshed(at: now) }
            return keys
        }
    }

    func replace(with keys: SigningKeys) {
        self.keys.withLock { $0 = keys }
    }
}
