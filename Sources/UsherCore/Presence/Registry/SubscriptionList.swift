/// One subscription as its socket records it: enough to undo it without searching the channel.
struct SocketSubscription {
    /// The channel name (the channel's stored string, shared).
    let channel: String
    /// The member's user id on presence channels (the member's stored string, shared); nil otherwise.
    let userID: String?

    /// Whether the channel has a subscription count to publish (pusher_internal:subscription_count): every kind but
    /// presence, whose subscribers see members instead.
    var countsSubscriptions: Bool { userID == nil && !channel.utf8.starts(with: "presence-".utf8) }
}

/// A socket's subscriptions in the order they were made.
///
/// Most sockets hold one channel, so the first subscription is stored inline and only further ones allocate; a
/// socket holds few channels, so linear search beats hashing.
struct SubscriptionList: Sequence {
    private var first: SocketSubscription?
    private var rest: [SocketSubscription] = []

    init(_ subscription: SocketSubscription) {
        first = subscription
    }

    var isEmpty: Bool { first == nil }

    /// The position of the subscription to `channel`, if any.
    func position(of channel: String) -> Int? {
        guard let first else { return nil }
        if first.channel == channel { return 0 }
        return rest.firstIndex { $0.channel == channel }.map { $0 + 1 }
    }

    mutating func append(_ subscription: SocketSubscription) {
        if first == nil {
            first = subscription
        } else {
            rest.append(subscription)
        }
    }

    /// Removes and returns the subscription at `position` (from ``position(of:)``), keeping the others in order.
    mutating func remove(at position: Int) -> SocketSubscription {
        guard position == 0, let removed = first else { return rest.remove(at: position - 1) }
        first = rest.isEmpty ? nil : rest.removeFirst()
        return removed
    }

    func makeIterator() -> Iterator {
        Iterator(head: first, tail: rest.makeIterator())
    }

    struct Iterator: IteratorProtocol {
        fileprivate var head: SocketSubscription?
        fileprivate var tail: IndexingIterator<[SocketSubscription]>

        mutating func next() -> SocketSubscription? {
            guard let current = head else { return tail.next() }
            head = nil
            return current
        }
    }
}
