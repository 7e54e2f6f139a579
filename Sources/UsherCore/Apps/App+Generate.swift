public import Foundation
import UsherCrypto

extension App {
    /// Creates a new app, generating every value not given from ``SecureRandom``.
    ///
    /// Generated: id = 7 random digits (no leading zero); key = 20 lowercase hex characters; secret = 64 lowercase
    /// hex characters (32 random bytes; Pusher SDKs sign with the text's UTF-8 bytes, so the text is the secret);
    /// encryption master key = 32 random bytes; the secret's id = 8 lowercase hex characters.
    ///
    /// ```swift
    /// let app = try App.generate(name: "chat", now: .now)
    /// ```
    /// - Parameter now: Recorded as the secret's creation time; passed in because Core reads no clock.
    /// - Throws: ``CoreError/invalidAppID``, ``CoreError/invalidAppKey`` or ``CoreError/weakAppSecret`` (fewer than
    ///   20 characters, the length of hosted Pusher's secrets, so existing apps can be imported) for given values.
    public static func generate(
        id: String? = nil, key: String? = nil, secret: String? = nil, name: String? = nil, now: Date
    ) throws(CoreError) -> App {
        if let secret, secret.count < 20 { throw .weakAppSecret }
        let appSecret = AppSecret(
            id: Hex.encode(SecureRandom.bytes(count: 4)),
            secret: secret ?? Hex.encode(SecureRandom.bytes(count: 32)),
            created: now
        )
        return try App(
            id: id ?? randomNumericID(),
            key: key ?? Hex.encode(SecureRandom.bytes(count: 10)),
            name: name,
            secrets: [appSecret],
            encryptionMasterKey: SecureRandom.bytes(count: 32)
        )
    }

    /// A uniformly random id in 1000000...9999999.
    ///
    /// Rejection sampling over 24-bit values avoids the bias `% 9_000_000` would add.
    private static func randomNumericID() -> String {
        while true {
            let bytes = SecureRandom.bytes(count: 3)
            let value = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
            if value < 9_000_000 { return String(1_000_000 + value) }
        }
    }
}
