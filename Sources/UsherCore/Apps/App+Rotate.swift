public import Foundation
import UsherCrypto

extension App {
    /// The app with a new secret that signs from now on; every older secret still open gets `notAfter = now + overlap`,
    /// so auth strings and API requests signed with it keep verifying until then. Secrets already past their
    /// `notAfter` are dropped.
    ///
    /// - Parameter secret: The new secret's text (≥ 20 characters); generated (64 hex characters) when `nil`.
    public func rotatingSecret(_ secret: String? = nil, overlap: Duration, now: Date) throws(CoreError) -> App {
        if let secret, secret.count < 20 { throw .weakAppSecret }
        let end = now.addingTimeInterval(Double(overlap.components.seconds))
        var kept = secrets.filter { $0.isUsable(at: now) }.map { old in
            AppSecret(id: old.id, secret: old.secret, created: old.created, notAfter: old.notAfter.map { min($0, end) } ?? end)
        }
        var id = Hex.encode(SecureRandom.bytes(count: 4))
        while kept.contains(where: { $0.id == id }) { id = Hex.encode(SecureRandom.bytes(count: 4)) }
        kept.append(AppSecret(id: id, secret: secret ?? Hex.encode(SecureRandom.bytes(count: 32)), created: now))
        return try App(id: self.id, key: key, name: name, secrets: kept, encryptionMasterKey: encryptionMasterKey)
    }
}
