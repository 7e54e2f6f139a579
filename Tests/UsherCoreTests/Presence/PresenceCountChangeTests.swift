import Testing
import UsherCore

private typealias F = PresenceFixture

/// The registry records which non-presence channels changed their subscription count, for `subscription_count`.
@Suite struct PresenceCountChangeTests {
    @Test("joins, leaves, disconnects and lease expiries of public and private channels are recorded once; presence is not")
    func recorded() throws {
        var registry = PresenceRegistry(configuration: .init(graceMillis: 0, leaseMillis: 1000))
        #expect(registry.takeCountChanges().isEmpty)
        _ = try registry.join(F.subscription("1.1", "news"), now: 0)
        _ = try registry.join(F.subscription("1.2", "news"), now: 0)
        _ = try registry.join(F.subscription("1.1", "private-desk"), now: 0)
        _ = try registry.join(F.subscription("1.1", "presence-room", user: "42"), now: 0)
        #expect(registry.takeCountChanges() == [AppChannel(app: F.app, channel: "news"), AppChannel(app: F.app, channel: "private-desk")])
        // Taken once; a repeated subscription changes nothing.
        _ = try registry.join(F.subscription("1.1", "news"), now: 1)
        #expect(registry.takeCountChanges().isEmpty)

        _ = registry.leave(app: F.app, socketID: try F.socket("1.2"), channel: try F.channel("news"), now: 2)
        #expect(registry.takeCountChanges() == [AppChannel(app: F.app, channel: "news")])
        _ = registry.disconnect(app: F.app, socketID: try F.socket("1.1"), now: 3)
        #expect(registry.takeCountChanges() == [AppChannel(app: F.app, channel: "news"), AppChannel(app: F.app, channel: "private-desk")])
        #expect(registry.subscriptionCount(app: F.app, channel: "news") == 0)

        _ = try registry.join(F.subscription("2.1", "news"), node: "n2", now: 10)
        _ = registry.takeCountChanges()
        _ = registry.advance(now: 2000)  // n2's lease lapsed: its socket is dropped
        #expect(registry.takeCountChanges() == [AppChannel(app: F.app, channel: "news")])
    }
}
