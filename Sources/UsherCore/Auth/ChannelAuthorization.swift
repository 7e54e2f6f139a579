import UsherCrypto

/// A signed answer to a channel or sign-in authorization request.
///
/// The signed texts (`channelData`, `userData`) are carried as the exact strings that were signed;
/// ``jsonBody`` embeds them as JSON string literals and never re-serializes them.
public struct ChannelAuthorization: Sendable, Hashable {
    /// The auth string `<app_key>:<lowercase hex HMAC-SHA256>`.
    public let auth: String
    /// The presence channel_data text that was signed, for presence channels.
    public let channelData: String?
    /// Base64 of SHA-256(channel name ‖ master key), for encrypted channels.
    public let sharedSecret: String?
    /// The user_data text that was signed, for sign-in.
    public let userData: String?

    init(auth: String, channelData: String? = nil, sharedSecret: String? = nil, userData: String? = nil) {
        self.auth = auth
        self.channelData = channelData
        self.sharedSecret = sharedSecret
        self.userData = userData
    }

    /// The HTTP 200 response body pusher-js expects, e.g. `{"auth":"278d…:58df…"}`.
    ///
    /// Fields appear in the order `auth`, `channel_data`, `shared_secret`, `user_data`, only when present.
    public var jsonBody: String {
        var body = #"{"auth":"#
        body.reserveCapacity(auth.utf8.count + (channelData?.utf8.count ?? 0) * 5 / 4 + 48)
        JSON.appendQuoted(auth, to: &body)
        func field(_ name: String, _ value: String?) {
            guard let value else { return }
            body += name
            JSON.appendQuoted(value, to: &body)
        }
        field(#","channel_data":"#, channelData)
        field(#","shared_secret":"#, sharedSecret)
        field(#","user_data":"#, userData)
        body += "}"
        return body
    }
}
