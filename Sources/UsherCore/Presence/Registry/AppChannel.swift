/// A channel of an app: the key of per-channel work such as subscription counts.
public struct AppChannel: Sendable, Hashable {
    public let app: String
    public let channel: String

    public init(app: String, channel: String) {
        self.app = app
        self.channel = channel
    }
}
