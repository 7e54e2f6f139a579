public import UsherCore

/// Where and how an app's webhooks are delivered (`apps[].webhooks` in usher.yaml).
public struct WebhookSettings: Sendable, Hashable {
    /// The receiver (http or https).
    public var url: String
    /// Which events to send; by default every presence and channel event.
    public var events: Set<StreamEvent.Kind> = [.memberAdded, .memberRemoved, .channelOccupied, .channelVacated]
    /// How long a batch waits for more events.
    public var batchMillis: Int = 250
    /// The most events in one request.
    public var batchMax: Int = 20

    public init(url: String) {
        self.url = url
    }
}
