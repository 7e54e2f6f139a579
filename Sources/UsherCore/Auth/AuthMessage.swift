/// The strings Pusher signs, shared by ``ChannelAuthorizer`` and ``ChannelAuthVerifier`` so both sides agree byte for byte.
enum AuthMessage {
    /// `<socket_id>:<channel>` or, with channel_data, `<socket_id>:<channel>:<channel_data>` (the exact text).
    static func channel(socketID: SocketID, channel: ChannelName, channelData: String?) -> String {
        var text = ""
        text.reserveCapacity(socketID.description.utf8.count + channel.name.utf8.count + (channelData?.utf8.count ?? 0) + 2)
        text += socketID.description
        text += ":"
        text += channel.name
        if let channelData {
            text += ":"
            text += channelData
        }
        return text
    }

    /// `<socket_id>::user::<user_data>` for `pusher:signin`.
    static func signIn(socketID: SocketID, userData: String) -> String {
        socketID.description + "::user::" + userData
    }
}
