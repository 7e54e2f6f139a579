public import UsherCrypto

/// Entry points for the libFuzzer targets of the `Fuzz/` package (docs/fuzzing.md): the relay's parsers of untrusted
/// bytes — client WebSocket messages and Usher's event stream — and the frames built from what they read. Not API:
/// only `@_spi(Fuzzing)` importers see it, and nothing in the relay calls it.
@_spi(Fuzzing) public enum RelayFuzzing {
    /// A client message as `RelaySession` reads it.
    public struct Message: Sendable {
        public let event: String
        public let channel: String?
        public let data: JSONValue?
        /// `data` as an object (a JSON string holding one is parsed).
        public let dataObject: JSONValue?
        /// The string fields `RelaySession` reads from `data`: `channel`, `auth`, `channel_data`, `user_data`.
        public let fields: [String: String]
    }

    /// `ClientMessage(text:)`; nil when the relay answers "Invalid message".
    public static func clientMessage(_ text: String) -> Message? {
        guard let message = ClientMessage(text: text) else { return nil }
        var fields: [String: String] = [:]
        for name in ["channel", "auth", "channel_data", "user_data"] {
            if let value = message.field(name) { fields[name] = value }
        }
        return Message(event: message.event, channel: message.channel, data: message.data, dataObject: message.dataObject, fields: fields)
    }

    /// The frames the relay builds from what a client sent: the client event relayed to the channel (`data`'s JSON
    /// text, `user_id` when given), a subscription error for the channel, a sign-in success carrying `user_data`, and a
    /// member_added with `user_info`.
    public static func frames(event: String, channel: String, data: JSONValue?, userID: String?, userData: String, userInfo: JSONValue?) -> [String] {
        [
            PusherFrame.event(event, channel: channel, dataJSON: data?.jsonText ?? "null", userID: userID),
            PusherFrame.subscriptionError(channel: channel, type: "AuthError", error: event, status: 403),
            PusherFrame.signinSuccess(userData: userData),
            PusherFrame.memberAdded(channel: channel, userID: userID ?? event, userInfo: userInfo),
            PusherFrame.error(code: 4009, message: event),
        ]
    }

    /// One Server-Sent Event as `SSEParser` yields it.
    public struct Event: Equatable, Sendable {
        public let id: UInt64?
        public let event: String
        public let data: String

        public init(id: UInt64?, event: String, data: String) {
            self.id = id
            self.event = event
            self.data = data
        }
    }

    /// `SSEParser` fed `chunks` in turn: every event it yields, and its `lastID` at the end.
    public static func parseEventStream(_ chunks: [ArraySlice<UInt8>]) -> (events: [Event], lastID: UInt64?) {
        var parser = SSEParser()
        var events: [Event] = []
        for chunk in chunks {
            events += parser.feed(chunk).map { Event(id: $0.id, event: $0.event, data: $0.data) }
        }
        return (events, parser.lastID)
    }
}
