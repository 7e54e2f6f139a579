import Foundation
import Synchronization
import UsherCrypto

/// The bearer token relays present to `/relay/v1/*`, kept in `keys/relay.token` (created on first run, mode 0600).
/// Replaced in place when the file changes, so a leaked token can be rotated without a restart.
final class RelayToken: Sendable {
    private let bytes: Mutex<[UInt8]>

    /// Reads the token, creating it with 32 random bytes (hex) when missing.
    static func loadOrCreate(in directory: KeyDirectory) throws(ServerError) -> RelayToken {
        try directory.prepare()
        try directory.withLock { () throws(ServerError) in
            if !directory.exists("relay.token") {
                let token = Hex.encode(SecureRandom.bytes(count: 32)) + "\n"
                try directory.writeAtomically(Data(token.utf8), to: "relay.token")
            }
        }
        return RelayToken(bytes: try read(from: directory))
    }

    /// The token in `keys/relay.token`; at least 32 characters, file mode 0600.
    static func read(from directory: KeyDirectory) throws(ServerError) -> [UInt8] {
        let text = String(decoding: try directory.readPrivate("relay.token"), as: UTF8.self)
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= 32 else { throw .keyDirectory("\(directory.path)/relay.token must hold at least 32 characters") }
        return Array(token.utf8)
    }

    init(bytes: [UInt8]) {
        self.bytes = Mutex(bytes)
    }

    /// Swaps in a new token (after `keys/relay.token` changed).
    func replace(with bytes: [UInt8]) {
        self.bytes.withLock { $0 = bytes }
    }

    /// Constant-time check of a presented token.
    func matches(_ presented: UnsafeRawBufferPointer) -> Bool {
        let expected = bytes.withLock { $0 }
        return ConstantTime.equals(presented, expected)
    }
}
