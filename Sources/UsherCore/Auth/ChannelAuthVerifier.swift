public import UsherCrypto

/// Checks auth strings that a relay forwards, against every secret an app currently accepts.
///
/// Security: the key part must equal the app key exactly and the hex part is compared in constant time;
/// upper-case hex, truncation and any flipped character fail. Which channel kinds need which form is the
/// caller's rule; this only answers whether the signature is genuine.
public struct ChannelAuthVerifier: Sendable {
    /// The public app key an auth string must start with.
    public let appKey: String
    private let secrets: [HMACKey]

    /// Creates a verifier accepting signatures by any of `secrets` (overlapping secrets during rotation).
    public init(appKey: String, secrets: [HMACKey]) {
        self.appKey = appKey
        self.secrets = secrets
    }

    /// Whether `auth` signs `<socket_id>:<channel>` or, with `channelData`, `<socket_id>:<channel>:<channel_data>`.
    ///
    /// - Parameter channelData: The exact text the client received and the relay forwarded; never re-serialized.
    public func verify(auth: String, socketID: SocketID, channel: ChannelName, channelData: String?) -> Bool {
        verify(auth: auth, message: AuthMessage.channel(socketID: socketID, channel: channel, channelData: channelData))
    }

    /// Whether `auth` signs the sign-in message `<socket_id>::user::<user_data>`.
    public func verify(auth: String, socketID: SocketID, userData: String) -> Bool {
        verify(auth: auth, message: AuthMessage.signIn(socketID: socketID, userData: userData))
    }

    private func verify(auth: String, message: String) -> Bool {
        guard let colon = auth.utf8.firstIndex(of: UInt8(ascii: ":")) else { return false }
        // Bytes, not String ==, so canonically equivalent non-ASCII text (e.g. KELVIN SIGN for "K") never passes. (The
        // key is public: no constant time needed. In place when both are contiguous, as native strings are.)
        let key = auth.utf8[..<colon]
        let inPlace = key.withContiguousStorageIfAvailable { given in
            appKey.utf8.withContiguousStorageIfAvailable { expected in given.elementsEqual(expected) }
        }
        guard inPlace.flatMap({ $0 }) ?? key.elementsEqual(appKey.utf8) else { return false }
        let hex = auth[auth.utf8.index(after: colon)...]
        return secrets.contains { $0.isValid(hexMAC: hex, for: message) }
    }
}
