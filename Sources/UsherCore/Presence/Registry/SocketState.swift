/// A socket's owning node and its subscriptions (disconnects undo them in join order).
struct SocketState {
    var node: NodeID
    var subscriptions: SubscriptionList
}

/// A socket across apps (socket ids are unique only within an app), ordered as lapsed nodes and resyncs drop sockets.
struct SocketKey: Comparable {
    let app: String
    let socketID: SocketID

    /// By app, then socket id text.
    static func < (lhs: SocketKey, rhs: SocketKey) -> Bool {
        lhs.app != rhs.app ? lhs.app < rhs.app : lhs.socketID.description < rhs.socketID.description
    }
}
