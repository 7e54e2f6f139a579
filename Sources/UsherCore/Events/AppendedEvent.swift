/// An event logged as it is given, not caused by a presence write: `terminate_connections` from the HTTP API, and
/// what relays report for the app's webhooks (`client_event`, `cache_miss`).
public struct AppendedEvent: Sendable, Hashable {
    public let kind: StreamEvent.Kind
    public let app: String
    public let channel: String?
    public let userID: String?
    /// Further JSON object members, serialized (``StreamEvent/extra``).
    public let extra: String?

    public init(kind: StreamEvent.Kind, app: String, channel: String? = nil, userID: String? = nil, extra: String? = nil) {
        self.kind = kind
        self.app = app
        self.channel = channel
        self.userID = userID
        self.extra = extra
    }

    /// The log entry at `sequence`.
    public func logged(at sequence: UInt64) -> StreamEvent {
        StreamEvent(sequence: sequence, kind: kind, app: app, channel: channel, userID: userID, userInfo: nil, extra: extra)
    }
}
