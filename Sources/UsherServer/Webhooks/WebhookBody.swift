import UsherCore
import UsherCrypto

/// Pusher webhook bodies, built once and signed and sent as the exact same bytes (PUSHER-PROTOCOL.md §8).
enum WebhookBody {
    /// `{"time_ms":…,"events":[{"name":…,"channel":…,"user_id":…}]}`, with each event's further members
    /// (`"subscription_count":N`; a client event's `"event"`, `"data"`, `"socket_id"`).
    static func make(_ events: [StreamEvent], timeMillis: Int64) -> String {
        var body = #"{"time_ms":"# + String(timeMillis) + #","events":["#
        for (index, event) in events.enumerated() {
            if index > 0 { body += "," }
            body += #"{"name":"# + JSON.quoted(event.kind.rawValue)
            if let channel = event.channel { body += #","channel":"# + JSON.quoted(channel) }
            if let userID = event.userID { body += #","user_id":"# + JSON.quoted(userID) }
            if let extra = event.extra { body += "," + extra }
            body += "}"
        }
        return body + "]}"
    }
}
