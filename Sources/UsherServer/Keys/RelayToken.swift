import Foundation
import UsherCrypto

/// The bearer token relays present to `/relay/v1/*`, kept in `keys/relay.token` (created on first run, mode 0600).
struct RelayToken: Sendable {
    private let bytes: [UInt8]

    /// Reads the token, creating it with 32 random bytes (hex) when missing.
    static func loadOrCreate(in directory: KeyDirectory) throws(ServerError) -> RelayToken {
        try directory.prepare()
        return try directory.withLock { () throws(ServerError) -> RelayToken in
            if !directory.exists("relay.token") {
                let token = Hex.encode(SecureRandom.bytes(count: 32)) + "\n"
                try directory.writeAtomically(Data(token.utf8), to: "relay.token")
            }
            let text = String(decoding: try directory.readPrivate("relay.token"), as: UTF8.self)
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.utf8.count >= 32 else { throw .keyDirectory("\(directory.path)/relay.token must hold at least 32 characters") }
            return RelayToken(bytes: Array(token.utf8))
        }
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Constant-time check of a presented token.
    func matches(_ presented: Substring) -> Bool {
        ConstantTime.equals(Array(presented.utf8), bytes)
    }
}
