public import UsherCrypto

/// Signs Pusher channel and sign-in authorizations for one app.
///
/// It only signs: whether the subscriber may have the channel is ``ChannelPolicy``'s decision, made first.
///
/// ```swift
/// let authorizer = try ChannelAuthorizer(appKey: app.key, secret: HMACKey(secret: Array(secret.utf8)))
/// let answer = try authorizer.authorize(socketID: socketID, channel: channel)
/// // answer.jsonBody == #"{"auth":"278d425bdf160c739803:58df8b0c…"}"#
/// ```
public struct ChannelAuthorizer: Sendable {
    /// The public app key that prefixes every auth string.
    public let appKey: String
    private let secret: HMACKey
    private let encryptionMasterKey: [UInt8]?

    /// Creates an authorizer.
    ///
    /// - Parameters:
    ///   - appKey: The app's public key.
    ///   - secret: The HMAC key made from the UTF-8 bytes of the app secret used for signing.
    ///   - encryptionMasterKey: The 32 decoded bytes of the app's encryption master key, if it has one.
    /// - Throws: ``CoreError/invalidEncryptionMasterKey`` when a master key is given that is not 32 bytes.
    public init(appKey: String, secret: HMACKey, encryptionMasterKey: [UInt8]? = nil) throws(CoreError) {
        if let encryptionMasterKey, encryptionMasterKey.count != 32 { throw .invalidEncryptionMasterKey }
        self.appKey = appKey
        self.secret = secret
        self.encryptionMasterKey = encryptionMasterKey
    }

    /// Authorizes any channel that needs it, choosing the form from the channel's kind.
    ///
    /// - Parameter channelData: Required for presence channels (signed as its exact text), refused for others.
    /// - Throws: ``CoreError/publicChannel`` for public channels; ``CoreError/forbiddenChannel`` for server-to-user
    ///   channels (reached through sign-in, never channel auth); ``CoreError/invalidChannelData`` when channel_data is
    ///   missing for presence or present otherwise; ``CoreError/noEncryptionMasterKey`` for an encrypted channel of an
    ///   app without a master key.
    public func authorize(
        socketID: SocketID, channel: ChannelName, channelData: String? = nil
    ) throws(CoreError) -> ChannelAuthorization {
        switch channel.kind {
        case .presence:
            guard let channelData else { throw .invalidChannelData }
            return try authorizePresence(socketID: socketID, channel: channel, channelData: channelData)
        case .private, .privateEncrypted:
            guard channelData == nil else { throw .invalidChannelData }
            return channel.kind == .private
                ? try authorizePrivate(socketID: socketID, channel: channel)
                : try authorizeEncrypted(socketID: socketID, channel: channel)
        case .serverToUser:
            throw .forbiddenChannel
        case .public:
            throw .publicChannel
        }
    }

    /// Signs `<socket_id>:<channel>` for a `private-` channel.
    ///
    /// - Throws: ``CoreError/invalidChannelName`` when the channel is not a plain private channel, so an encrypted
    ///   channel can never be answered without its shared secret.
    public func authorizePrivate(socketID: SocketID, channel: ChannelName) throws(CoreError) -> ChannelAuthorization {
        guard channel.kind == .private else { throw .invalidChannelName }
        return ChannelAuthorization(auth: sign(AuthMessage.channel(socketID: socketID, channel: channel, channelData: nil)))
    }

    /// Signs `<socket_id>:<channel>:<channel_data>` for a `presence-` channel.
    ///
    /// - Parameter channelData: The JSON text to sign, byte for byte; build it with ``ChannelData/make(userID:userInfo:limits:)``
    ///   or check untrusted text with ``ChannelData/parse(_:limits:)`` first.
    /// - Throws: ``CoreError/invalidChannelName`` when the channel is not a presence channel.
    public func authorizePresence(
        socketID: SocketID, channel: ChannelName, channelData: String
    ) throws(CoreError) -> ChannelAuthorization {
        guard channel.kind == .presence else { throw .invalidChannelName }
        let message = AuthMessage.channel(socketID: socketID, channel: channel, channelData: channelData)
        return ChannelAuthorization(auth: sign(message), channelData: channelData)
    }

    /// Signs a `private-encrypted-` channel like a private one and adds the channel's shared secret.
    ///
    /// The shared secret is base64(SHA-256(channel name UTF-8 ‖ 32 master key bytes)) — the decoded key bytes, not
    /// the base64 text some SDKs mistakenly hash.
    /// - Throws: ``CoreError/noEncryptionMasterKey`` when the app has none; ``CoreError/invalidChannelName`` when the
    ///   channel is not an encrypted channel.
    public func authorizeEncrypted(socketID: SocketID, channel: ChannelName) throws(CoreError) -> ChannelAuthorization {
        guard channel.kind == .privateEncrypted else { throw .invalidChannelName }
        guard let encryptionMasterKey else { throw .noEncryptionMasterKey }
        let sharedSecret = Base64.encode(SHA256.hash(Array(channel.name.utf8) + encryptionMasterKey))
        let auth = sign(AuthMessage.channel(socketID: socketID, channel: channel, channelData: nil))
        return ChannelAuthorization(auth: auth, sharedSecret: sharedSecret)
    }

    /// Signs `<socket_id>::user::<user_data>` for `pusher:signin`.
    ///
    /// - Parameter userData: The JSON text to sign, byte for byte; build it with
    ///   ``UserData/make(userID:userInfo:watchlist:limits:)``.
    public func signIn(socketID: SocketID, userData: String) -> ChannelAuthorization {
        ChannelAuthorization(auth: sign(AuthMessage.signIn(socketID: socketID, userData: userData)), userData: userData)
    }

    private func sign(_ message: String) -> String {
        appKey + ":" + secret.hexMAC(message)
    }
}
