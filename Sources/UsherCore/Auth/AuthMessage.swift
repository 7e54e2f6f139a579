/// The strings Pusher signs, shared by ``ChannelAuthorizer`` and ``ChannelAuthVerifier`` so both sides agree byte for byte.
enum AuthMessage {
    /// `<socket_id>:<channel>` or, with channel_data, `<socket_id>:<channel>:<channel_data>` (the exact text).
    static func channel(socketID: SocketID, channel: ChannelName, channelData: String?) -> String {
        let base = socketID.description + ":" + channel.name
        guard let channelData else { return base }
        return base + ":" + channelData
    }

    /// `<socket_id>::user::<user_data>` for `pusher:signin`.
    static func signIn(socketID: SocketID, userData: String) -> String {
        socketID.description + "::user::" + userData
    }
}
