import UsherCrypto

/// Builds the text frames the relay sends (Pusher protocol 7).
///
/// `pusher:*` and `pusher_internal:*` events carry their `data` as a JSON *string* holding JSON, as pusher-js
/// expects; `pusher:error` carries an object. Frames are built by hand so signed or relayed JSON is never re-serialized.
enum PusherFrame {
    /// `{"event":…,"channel":…,"data":<dataJSON>,"user_id":…}`; `dataJSON` is inserted verbatim.
    static func event(_ name: String, channel: String? = nil, dataJSON: String, userID: String? = nil) -> String {
        var text = #"{"event":"# + JSON.quoted(name)
        if let channel { text += #","channel":"# + JSON.quoted(channel) }
        text += #","data":"# + dataJSON
        if let userID { text += #","user_id":"# + JSON.quoted(userID) }
        return text + "}"
    }

    /// An event whose data is `json` sent as a JSON string (the `pusher_internal:*` convention).
    static func event(_ name: String, channel: String? = nil, stringData json: String) -> String {
        event(name, channel: channel, dataJSON: JSON.quoted(json))
    }

    static func connectionEstablished(socketID: String, activityTimeoutSeconds: Int) -> String {
        event(
            "pusher:connection_established",
            stringData: #"{"socket_id":"# + JSON.quoted(socketID) + #","activity_timeout":"# + String(activityTimeoutSeconds) + "}"
        )
    }

    /// `pusher:error` with `{"code":…,"message":…}`; codes 4000–4299 make clients stop or reconnect (§9).
    static func error(code: Int?, message: String) -> String {
        event("pusher:error", dataJSON: #"{"code":"# + (code.map(String.init) ?? "null") + #","message":"# + JSON.quoted(message) + "}")
    }

    /// The channel-scoped refusal a failed subscription gets; the socket stays open.
    static func subscriptionError(channel: String, type: String, error: String, status: Int) -> String {
        event(
            "pusher:subscription_error", channel: channel,
            stringData: #"{"type":"# + JSON.quoted(type) + #","error":"# + JSON.quoted(error) + #","status":"# + String(status) + "}"
        )
    }

    static let ping = event("pusher:ping", stringData: "{}")
    static let pong = event("pusher:pong", stringData: "{}")

    /// A cache channel had nothing cached when the socket subscribed (PUSHER-PROTOCOL.md §9a).
    static func cacheMiss(channel: String) -> String {
        #"{"event":"pusher:cache_miss","channel":"# + JSON.quoted(channel) + "}"
    }

    static func subscriptionSucceeded(channel: String, presenceJSON: String?) -> String {
        event("pusher_internal:subscription_succeeded", channel: channel, stringData: presenceJSON.map { #"{"presence":"# + $0 + "}" } ?? "{}")
    }

    /// A channel's deployment-wide subscription count (PUSHER-PROTOCOL.md §9a); pusher-js emits
    /// `pusher:subscription_count` with it.
    static func subscriptionCount(channel: String, count: Int) -> String {
        event("pusher_internal:subscription_count", channel: channel, stringData: #"{"subscription_count":"# + String(count) + "}")
    }

    /// `pusher_internal:watchlist_events` `{"events":[{"name":"online","user_ids":[…]}]}` to a watching connection.
    static func watchlistEvents(_ events: [(name: String, userIDs: [String])]) -> String {
        let list = events.map { event in
            #"{"name":"# + JSON.quoted(event.name) + #","user_ids":"# + JSONValue.array(event.userIDs.map(JSONValue.string)).jsonText + "}"
        }
        return event("pusher_internal:watchlist_events", stringData: #"{"events":["# + list.joined(separator: ",") + "]}")
    }

    static func memberAdded(channel: String, userID: String, userInfo: JSONValue?) -> String {
        var data = #"{"user_id":"# + JSON.quoted(userID)
        if let userInfo { data += #","user_info":"# + userInfo.jsonText }
        return event("pusher_internal:member_added", channel: channel, stringData: data + "}")
    }

    static func memberRemoved(channel: String, userID: String) -> String {
        event("pusher_internal:member_removed", channel: channel, stringData: #"{"user_id":"# + JSON.quoted(userID) + "}")
    }

    static func signinSuccess(userData: String) -> String {
        event("pusher:signin_success", stringData: #"{"user_data":"# + JSON.quoted(userData) + "}")
    }
}
