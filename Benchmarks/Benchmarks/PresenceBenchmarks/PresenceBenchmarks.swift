// In-process cost of the presence state machine (`PresenceRegistry`): joins and leaves against a populated registry,
// and listing a 100,000-member channel. Memory per member is measured by the `usher-presence-memory` executable.
//
// One operation of a join+leave benchmark is one join *and* one leave of a fresh socket (so join/leave calls per
// second are twice the reported throughput). Every subscription is built and validated before the measurement, as
// the relay API does before calling the registry.
import Benchmark
import UsherCore
import UsherCrypto

func configuration(_ scaling: BenchmarkScalingFactor, seconds: Int = 3) -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .mallocCountTotal, .wallClock],
        scalingFactor: scaling,
        maxDuration: .seconds(seconds),
        maxIterations: 1_000_000
    )
}

let app = "app1"
let node = try! NodeID(validating: "relay-1")
let unlimited = PresenceLimits(maxMembers: 1_000_000)

/// `presence-room-<n>`, zero-padded so every name has the same length.
func channelName(_ index: Int) -> ChannelName {
    let digits = String(index)
    return try! ChannelName(validating: "presence-room-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits)
}

/// A member's small user_info, like most apps send (`{"name":"User 123"}`).
func userInfo(_ index: Int) -> JSONValue {
    .object(["name": .string("User \(index)")])
}

func subscription(socket: String, channel: ChannelName, user: String, info: JSONValue?) -> Subscription {
    try! Subscription(
        app: app, socketID: SocketID(validating: socket), channel: channel,
        member: PresenceMember(userID: user, userInfo: info))
}

/// A registry holding a steady population, plus a pool of other users who join and leave it in turn.
final class Churn {
    var registry: PresenceRegistry
    let pool: [Subscription]
    private var cursor = 0
    private var operations = 0
    private var now: Int64 = 1_000

    /// - Parameters:
    ///   - graceMillis: The registry's leave grace.
    ///   - poolSize: Distinct churning users; with grace, a user comes back after `poolSize / 10` ms of the
    ///     simulated clock (it advances 1 ms every 10 operations), so pools over 30,000 always outlive a 3 s grace.
    init(graceMillis: Int64, poolSize: Int, channels: Int = 10_000, membersPerChannel: Int = 10) {
        var registry = PresenceRegistry(configuration: .init(graceMillis: graceMillis, leaseMillis: 15_000))
        let names = (0..<channels).map(channelName)
        var member = 0
        for channel in names {
            for _ in 0..<membersPerChannel {
                _ = registry.join(
                    subscription(socket: "1.\(member)", channel: channel, user: "\(member)", info: userInfo(member)),
                    node: node, limits: unlimited, now: now)
                member += 1
            }
        }
        self.registry = registry
        self.pool = (0..<poolSize).map { index in
            let user = 10_000_000 + index
            return subscription(
                socket: "2.\(index)", channel: names[index % channels], user: "\(user)", info: userInfo(user))
        }
    }

    /// One join and one leave of the next pooled socket; the clock advances 1 ms every 10 operations, and due
    /// grace expiries fire as the store's ticker would fire them.
    @inline(__always)
    func step() {
        let subscription = pool[cursor]
        cursor += 1
        if cursor == pool.count { cursor = 0 }
        blackHole(registry.join(subscription, node: node, limits: unlimited, now: now))
        blackHole(registry.leave(app: app, socketID: subscription.socketID, channel: subscription.channel, now: now))
        operations += 1
        if operations % 10 == 0 {
            now += 1
            if let deadline = registry.nextDeadline, deadline <= now {
                blackHole(registry.advance(now: now))
            }
        }
    }

    /// Runs `count` steps unmeasured, so the grace queue reaches its steady size.
    func warm(_ count: Int) {
        for _ in 0..<count { step() }
    }
}

/// Built on first use, so filtered-out benchmarks cost nothing.
final class Lazy<Value>: @unchecked Sendable {
    private let make: () -> Value
    private(set) lazy var value: Value = make()
    init(_ make: @escaping () -> Value) { self.make = make }
}

let benchmarks: @Sendable () -> Void = {
    // MARK: Join + leave

    let noGrace = Lazy { Churn(graceMillis: 0, poolSize: 100_000) }
    Benchmark("Presence join+leave (grace 0)", configuration: configuration(.kilo)) { benchmark in
        let churn = noGrace.value
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { churn.step() }
    }

    let expiringGrace = Lazy {
        let churn = Churn(graceMillis: 3_000, poolSize: 100_000)
        churn.warm(60_000)
        return churn
    }
    Benchmark("Presence join+leave (grace 3000, every leave expires)", configuration: configuration(.kilo)) {
        benchmark in
        let churn = expiringGrace.value
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { churn.step() }
    }

    let rejoiningGrace = Lazy {
        let churn = Churn(graceMillis: 3_000, poolSize: 10_000)
        churn.warm(60_000)
        return churn
    }
    Benchmark("Presence join+leave (grace 3000, rejoin within grace)", configuration: configuration(.kilo)) {
        benchmark in
        let churn = rejoiningGrace.value
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { churn.step() }
    }

    // MARK: Listing a 100,000-member channel

    let big = Lazy {
        var registry = PresenceRegistry()
        let channel = channelName(0)
        for index in 0..<100_000 {
            _ = registry.join(
                subscription(socket: "3.\(index)", channel: channel, user: "\(index)", info: userInfo(index)),
                node: node, limits: unlimited, now: 0)
        }
        precondition(registry.userCount(app: app, channel: channel.name) == 100_000)
        return (registry, channel.name)
    }

    Benchmark("Listing 100k members: members(app:channel:)", configuration: configuration(.one)) { benchmark in
        let (registry, channel) = big.value
        benchmark.startMeasurement()
        blackHole(registry.members(app: app, channel: channel))
    }

    Benchmark("Listing 100k members: userIDs(app:channel:)", configuration: configuration(.one)) { benchmark in
        let (registry, channel) = big.value
        benchmark.startMeasurement()
        blackHole(registry.userIDs(app: app, channel: channel))
    }

    Benchmark("Listing 100k members: presence(app:channel:).jsonText", configuration: configuration(.one)) {
        benchmark in
        let (registry, channel) = big.value
        benchmark.startMeasurement()
        blackHole(registry.presence(app: app, channel: channel)!.jsonText)
    }
}
