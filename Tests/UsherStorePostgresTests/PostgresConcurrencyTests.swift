import Foundation
import Testing
import UsherCore
import UsherCrypto
import UsherStorePostgres

/// What two instances do when they race: membership decided once, expiries swept once, events seen everywhere.
@Suite(PostgresTestDatabase.enabled) struct PostgresConcurrencyTests {
    static let room = try! ChannelName(validating: "presence-room")

    static func subscription(_ socket: Int, user: String = "u") throws -> Subscription {
        try Subscription(
            app: "a", socketID: try SocketID(validating: "1.\(socket)"), channel: room,
            member: PresenceMember(userID: user))
    }

    static func kinds(_ store: PostgresPresenceStore) async throws -> [PresenceEventKind] {
        try await store.presenceEvents(after: 0).events.map(\.kind)
    }

    @Test("racing joins and leaves of one user on two instances add and remove the member exactly once")
    func racingMembership() async throws {
        try await PostgresTestDatabase.withStores(2) { stores in
            let node = try NodeID(validating: "relay-1")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for socket in 0..<16 {
                    group.addTask {
                        _ = try await stores[socket % 2].join(try Self.subscription(socket), node: node, limits: .init())
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.kinds(stores[0]) == [.channelOccupied, .memberAdded])
            #expect(try await stores[1].counts(app: "a", channel: Self.room.name) == (16, 1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for socket in 0..<16 {
                    group.addTask {
                        try await stores[(socket + 1) % 2].leave(
                            app: "a", socketID: try SocketID(validating: "1.\(socket)"), channel: Self.room)
                    }
                }
                try await group.waitForAll()
            }
            #expect(
                try await Self.kinds(stores[1]) == [.channelOccupied, .memberAdded, .memberRemoved, .channelVacated])
        }
    }

    @Test("concurrent single calls and batches on two instances, grouped as they arrive, add and remove each member once")
    func groupedWrites() async throws {
        try await PostgresTestDatabase.withStores(2) { stores in
            let node = try NodeID(validating: "relay-1")
            // 60 users with two sockets each: socket 1.<u> joins as a single call, 2.<u> in a batch of ten.
            func join(_ socket: String, _ user: Int) throws -> PresenceWrite {
                .join(
                    try Subscription(
                        app: "a", socketID: try SocketID(validating: socket), channel: Self.room,
                        member: PresenceMember(userID: "u\(user)")),
                    node: node, limits: PresenceLimits(maxMembers: 1000), wantsPresence: user % 2 == 0)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in 0..<60 {
                    group.addTask { _ = try await stores[user % 2].apply([try join("1.\(user)", user)]) }
                }
                for first in stride(from: 0, to: 60, by: 10) {
                    group.addTask {
                        let results = try await stores[first / 10 % 2].apply(try (first..<first + 10).map { try join("2.\($0)", $0) })
                        #expect(results.count == 10)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await stores[1].counts(app: "a", channel: Self.room.name) == (120, 60))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in 0..<60 {
                    group.addTask {
                        _ = try await stores[user % 2].apply([
                            .leave(app: "a", socketID: try SocketID(validating: "1.\(user)"), channel: Self.room),
                            .disconnect(app: "a", socketID: try SocketID(validating: "2.\(user)")),
                        ])
                    }
                }
                try await group.waitForAll()
            }
            let events = try await stores[0].presenceEvents(after: 0).events
            #expect(events.first?.kind == .channelOccupied && events.last?.kind == .channelVacated)
            for kind in [PresenceEventKind.memberAdded, .memberRemoved] {
                let users = events.filter { $0.kind == kind }.compactMap(\.userID)
                #expect(users.count == 60 && Set(users).count == 60, "\(kind): \(users)")
            }
            #expect(events.count == 122)
            #expect(try await stores[0].counts(app: "a", channel: Self.room.name) == (0, 0))
        }
    }

    @Test("a lapsed lease is swept exactly once when every instance sweeps at the same time")
    func leaseSweptOnce() async throws {
        let clock = ManualClock()
        let timing = PresenceRegistry.Configuration(graceMillis: 500, leaseMillis: 1000)
        try await PostgresTestDatabase.withStores(2, presence: timing, now: clock.reader) { stores in
            let dead = try NodeID(validating: "relay-dead")
            for socket in 0..<5 {
                _ = try await stores[socket % 2].join(try Self.subscription(socket, user: "u\(socket)"), node: dead, limits: .init())
            }
            clock.advance(by: 1001)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<6 { group.addTask { try await stores[round % 2].advance() } }
                try await group.waitForAll()
            }
            let kinds = try await Self.kinds(stores[0])
            #expect(kinds.filter { $0 == .memberRemoved }.count == 5)
            #expect(kinds.filter { $0 == .memberAdded }.count == 5)
            #expect(kinds.last == .channelVacated)
            #expect(try await stores[1].statistics().leaseExpiries == 1)
            #expect(try await stores[0].heartbeat(node: dead).resync)
        }
    }

    @Test("an instance's waiting readers wake on another instance's commit (LISTEN/NOTIFY)")
    func notifyWakesOtherInstance() async throws {
        // The probe (which also raises the signal) waits a minute here, so only a notification can wake the reader.
        try await PostgresTestDatabase.withStores(2, probeInterval: .seconds(60)) { stores in
            try await Task.sleep(for: .milliseconds(300))  // both listeners past their first probe
            let before = try await stores[1].latestSequence()
            let started = ContinuousClock.now
            async let woke: Void = stores[1].waitForEvents(after: before, timeout: .seconds(60))
            try await Task.sleep(for: .milliseconds(200))
            _ = try await stores[0].join(try Self.subscription(1), node: try NodeID(validating: "r"), limits: .init())
            try await woke
            // Far below both the 60 s timeout and the 60 s probe: only the notification can have ended the wait.
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(try await stores[1].latestSequence() == before + 2)
        }
    }

    @Test("events older than the retention answer gap; the rest resume from the table")
    func retention() async throws {
        try await PostgresTestDatabase.withStores(1, retainedEvents: 4) { stores in
            let store = stores[0]
            for socket in 0..<5 {
                _ = try await store.join(try Self.subscription(socket, user: "u\(socket)"), node: try NodeID(validating: "r"), limits: .init())
            }
            try await store.advance()
            let latest = try await store.latestSequence()
            #expect(latest == 6)
            #expect(try await store.oldestRetainedSequence() == 3)
            guard case .gap(let reported) = try await store.events(after: 1, limit: 10) else {
                Issue.record("expected a gap for a trimmed position")
                return
            }
            #expect(reported == latest)
            guard case .events(let events) = try await store.events(after: 2, limit: 10) else {
                Issue.record("expected events after the oldest retained position")
                return
            }
            #expect(events.map(\.sequence) == [3, 4, 5, 6])
            guard case .gap = try await store.events(after: 99, limit: 10) else {
                Issue.record("a position ahead of the database must answer gap")
                return
            }
        }
    }

    @Test("an instance whose cached member list fell behind the retained log reads the list again")
    func rosterCacheAfterTrimmedLog() async throws {
        try await PostgresTestDatabase.withStores(2, retainedEvents: 4) { stores in
            let (a, b) = (stores[0], stores[1])
            // A cache is kept per database epoch, which an instance learns once connected.
            while a.epoch.isEmpty || b.epoch.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let node = try NodeID(validating: "r")
            let other = try ChannelName(validating: "presence-other")
            _ = try await a.join(try Self.subscription(1, user: "ann"), node: node, limits: .init())  // A now keeps the list
            _ = try await b.join(try Self.subscription(2, user: "bob"), node: node, limits: .init())
            for socket in 10..<16 {
                let subscription = try Subscription(
                    app: "a", socketID: try SocketID(validating: "1.\(socket)"), channel: other, member: PresenceMember(userID: "o\(socket)"))
                _ = try await b.join(subscription, node: node, limits: .init())
            }
            try await b.advance()  // trims bob's member_added from the log
            // A group of A's that answers no list, then one that answers the room's: bob must be in it.
            try await a.leave(app: "a", socketID: try SocketID(validating: "9.9"), channel: Self.room)
            let joined = try await a.join(try Self.subscription(3, user: "cy"), node: node, limits: .init())
            let ids = (joined.presence.flatMap { try? JSONValue.parse($0.jsonText)["ids"] }).flatMap { value -> [String]? in
                guard case .array(let ids) = value else { return nil }
                return ids.compactMap(\.stringValue).sorted()
            }
            #expect(ids == ["ann", "bob", "cy"])
        }
    }

    @Test("several instances starting on one fresh database migrate it once and share one epoch")
    func concurrentMigrations() async throws {
        try await PostgresTestDatabase.withStores(4) { stores in
            for store in stores { _ = try await store.latestSequence() }
            let epochs = Set(stores.map(\.epoch))
            #expect(epochs.count == 1 && epochs.first?.isEmpty == false)
            #expect(stores.allSatisfy { $0.health == .up })
        }
    }
}

/// What needs no database: URL parsing, redaction and failing fast when the database is unreachable.
@Suite struct PostgresConfigurationTests {
    @Test("the password never appears in the redacted URL")
    func redaction() throws {
        let configuration = try PostgresPresenceStore.Configuration(url: "postgres://usher:s3cr%40t@db.example:6543/usher")
        #expect(configuration.redactedURL == "postgres://usher:***@db.example:6543/usher")
        #expect(configuration.connection.password == "s3cr@t")
        #expect(configuration.connection.port == 6543)
        #expect(configuration.connection.database == "usher")
    }

    @Test("a unix socket directory is given as ?host=")
    func unixSocket() throws {
        let configuration = try PostgresPresenceStore.Configuration(url: "postgres://postgres@/usher?host=/tmp/pg")
        #expect(configuration.connection.unixSocketPath == "/tmp/pg/.s.PGSQL.5432")
    }

    @Test("malformed store URLs are refused, also unknown parameters such as a libpq-style password", arguments: [
        "mysql://u@h/db", "postgres://h/db", "postgres://u@/db", "not a url", "postgres://u@h/db?sslmode=maybe",
        "postgres://u@h/db?password=hunter2", "postgres://u@h/db?sslmode=require&application_name=x",
    ])
    func malformed(url: String) {
        #expect(throws: PostgresStoreError.invalidURL) { try PostgresPresenceStore.Configuration(url: url) }
    }

    @Test("an unreachable database fails calls with unavailable instead of hanging")
    func unreachable() async throws {
        var configuration = try PostgresPresenceStore.Configuration(url: "postgres://usher:pw@127.0.0.1:1/usher")
        configuration.operationTimeout = .milliseconds(500)
        let store = PostgresPresenceStore(configuration: configuration, logger: PostgresTestDatabase.logger)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            await #expect(throws: PostgresStoreError.unavailable) { try await store.latestSequence() }
            await #expect(throws: PostgresStoreError.unavailable) {
                try await store.leave(app: "a", socketID: try SocketID(validating: "1.1"), channel: try ChannelName(validating: "private-x"))
            }
            #expect(store.health != .up)
        }
    }
}
