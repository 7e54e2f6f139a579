/// The strings Pusher signs, shared by ``ChannelAuthorizer`` and ``ChannelAuthVerifier`` so both sides agree byte for byte.
enum AuthMessage {
    /// `<socket_id>:<channel>` or, with channel_data, `<socket_id>:<channel>:<channel_data>` (the exact text).
    static func channel(socketID: SocketID, channel: ChannelName, channelData: String?) -> String {
        guard var channelData else {
            return withChannel(socketID: socketID, channel: channel, channelData: nil) { String(decoding: $0, as: UTF8.self) }
        }
        return channelData.withUTF8 { data in
            withChannel(socketID: socketID, channel: channel, channelData: data) { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Calls `body` with the bytes of ``channel(socketID:channel:channelData:)`` (channel_data given as its UTF-8
    /// bytes), made in temporary storage (on the stack when small): a verification builds no string.
    static func withChannel<R>(
        socketID: SocketID, channel: ChannelName, channelData: UnsafeBufferPointer<UInt8>?, _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        var parts = (socketID.description, channel.name)
        let count = parts.0.utf8.count + 1 + parts.1.utf8.count + (channelData.map { $0.count + 1 } ?? 0)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { message in
            var end = 0
            func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                _ = UnsafeMutableBufferPointer(rebasing: message[end..<(end + bytes.count)]).initialize(fromContentsOf: bytes)
                end += bytes.count
            }
            let colon = UInt8(ascii: ":")
            parts.0.withUTF8(put)
            message[end] = colon
            end += 1
            parts.1.withUTF8(put)
            if let channelData {
                message[end] = colon
                end += 1
                put(channelData)
            }
            return body(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: message[..<end])))
        }
    }

    /// `<socket_id>::user::<user_data>` for `pusher:signin`.
    static func signIn(socketID: SocketID, userData: String) -> String {
        socketID.description + "::user::" + userData
    }
}
