import Testing
import UsherCore

private typealias F = PresenceFixture

/// Online status: a server-to-user channel's member is its signed-in user, with presence's grace and lease rules,
/// and the log names its member events `user_online` / `user_offline`.
@Suite struct PresenceOnlineStatusTests {
    @Test("a user's first signed-in socket puts them online; the last one takes them offline after the grace")
    func grace() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 100, leaseMillis: 10_000))
        let channel = "#server-to-user-ann"
        let first = try registry.join(F.subscription("1.1", channel), now: 0)
        guard case .joined(true, let events) = first else { Issue.record("\(first)"); return }
        #expect(events.map { StreamEvent.Kind($0) } == [.channelOccupied, .userOnline])
        #expect(events.last?.userID == "ann")
        #expect(try registry.join(F.subscription("1.2", channel), now: 1) == .joined(memberAdded: false, events: []))
        _ = registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 2)
        #expect(registry.disconnect(app: F.app, socketID: try F.socket("1.2"), now: 3).isEmpty)
        #expect(registry.userCount(app: F.app, channel: channel) == 1, "online during the grace")
        let expired = registry.advance(now: 103)
        #expect(expired.map { StreamEvent.Kind($0) } == [.userOffline, .channelVacated])
        // Not a subscription count: server-to-user channels are the user's, not the app's.
        #expect(registry.takeCountChanges().isEmpty)
    }

    @Test("presence members keep their names; the log's data carries the user")
    func naming() {
        let added = PresenceEvent(kind: .memberAdded, app: "1", channel: "presence-room", userID: "ann")
        #expect(StreamEvent.Kind(added) == .memberAdded)
        let online = StreamEvent(sequence: 4, PresenceEvent(kind: .memberAdded, app: "1", channel: "#server-to-user-ann", userID: "ann"))
        #expect(online.kind == .userOnline)
        #expect(online.data == ##"{"app":"1","channel":"#server-to-user-ann","user_id":"ann"}"##)
    }
}
