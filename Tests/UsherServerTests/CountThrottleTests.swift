import Testing
import UsherCore
@testable import UsherServer

/// `subscription_count` throttling per channel: the first change at once, then at most one per interval, and the
/// last change of an interval always published when it ends.
@Suite struct CountThrottleTests {
    let news = AppChannel(app: "1", channel: "news")
    let sport = AppChannel(app: "1", channel: "sport")

    @Test("first change at once, later ones held until the interval ends, channels independent")
    func throttles() {
        var throttle = CountThrottle(intervalMillis: 5000)
        #expect(throttle.due([news], now: 0) == [news])
        #expect(throttle.due([news], now: 100).isEmpty)
        #expect(throttle.due([news, sport], now: 200) == [sport])
        #expect(throttle.due([], now: 4999).isEmpty)
        // The held change goes when the interval since the last send ends, once.
        #expect(throttle.due([], now: 5000) == [news])
        #expect(throttle.due([], now: 6000).isEmpty)
        // sport was sent at 200 and has not changed since: nothing to send.
        #expect(throttle.due([], now: 5200).isEmpty)
        // A channel quiet for a whole interval sends its next change at once.
        #expect(throttle.due([sport], now: 11_000) == [sport])
    }

    @Test("a failed publication is retried at the next tick")
    func retries() {
        var throttle = CountThrottle(intervalMillis: 5000)
        let due = throttle.due([news, sport], now: 0)
        #expect(due == [news, sport])
        throttle.retry(due)
        #expect(throttle.due([], now: 100) == [news, sport])
    }
}
