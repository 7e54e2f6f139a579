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
        var auth = auth
        guard var channelData else { return auth.withUTF8 { verify(auth: $0, socketID: socketID, channel: channel, channelData: nil) } }
        return auth.withUTF8 { auth in channelData.withUTF8 { verify(auth: auth, socketID: socketID, channel: channel, channelData: $0) } }
    }

    /// ``verify(auth:socketID:channel:channelData:)-(String,_,_,String?)`` on the UTF-8 bytes of `auth` and
    /// `channelData`, as a relay call carries them.
    public func verify(auth: UnsafeBufferPointer<UInt8>, socketID: SocketID, channel: ChannelName, channelData: UnsafeBufferPointer<UInt8>?) -> Bool {
        AuthMessage.withChannel(socketID: socketID, channel: channel, channelData: channelData) { verify(auth: auth, message: $0) }
    }

    /// Whether `auth` signs the sign-in message `<socket_id>::user::<user_data>`.
    public func verify(auth: String, socketID: SocketID, userData: String) -> Bool {
        var auth = auth
        return auth.withUTF8 { verify(auth: $0, socketID: socketID, userData: userData) }
    }

    /// Whether `auth` (its UTF-8 bytes) signs the sign-in message `<socket_id>::user::<user_data>`.
    public func verify(auth: UnsafeBufferPointer<UInt8>, socketID: SocketID, userData: String) -> Bool {
        var message = AuthMessage.signIn(socketID: socketID, userData: userData)
        return message.withUTF8 { verify(auth: auth, message: UnsafeRawBufferPointer($0)) }
    }

    private func verify(auth: UnsafeBufferPointer<UInt8>, message: UnsafeRawBufferPointer) -> Bool {
        guard let colon = auth.firstIndex(of: UInt8(ascii: ":")) else { return false }
        // Bytes, not String ==, so canonically equivalent non-ASCII text (e.g. KELVIN SIGN for "K") never passes.
        // (The key is public: no constant time needed.)
        var appKey = appKey
        guard appKey.withUTF8({ UnsafeBufferPointer(rebasing: auth[..<colon]).elementsEqual($0) }) else { return false }
        let hex = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: auth[(colon + 1)...]))
        return secrets.contains { $0.isValid(hexMAC: hex, for: message) }
    }
}
