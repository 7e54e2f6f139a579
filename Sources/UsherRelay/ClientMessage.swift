import UsherCrypto

/// One message from a client: `{"event":…,"channel":…,"data":…}`.
struct ClientMessage {
    let event: String
    let channel: String?
    let data: JSONValue?

    /// Parses a text frame; nil when it is not a JSON object with a string `event`.
    init?(text: String) {
        guard case .object(let members)? = try? JSONValue.parse(text), let event = members["event"]?.stringValue else { return nil }
        self.event = event
        channel = members["channel"]?.stringValue
        data = members["data"]
    }

    /// `data` as an object: pusher-js sends an object, some clients a JSON string holding one.
    var dataObject: JSONValue? {
        if case .string(let text)? = data { return try? JSONValue.parse(text) }
        return data
    }

    /// A string member of ``dataObject``.
    func field(_ name: String) -> String? {
        dataObject?[name]?.stringValue
    }
}
