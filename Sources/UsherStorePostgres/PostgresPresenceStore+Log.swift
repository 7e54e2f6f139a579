import PostgresNIO
public import UsherCore
import UsherCrypto

extension PostgresPresenceStore {
    /// Reads the table after `sequence`; `.gap` when rows after it were already trimmed, or when `sequence` is ahead
    /// of the database (a position from another deployment).
    public func events(after sequence: UInt64, limit: Int) async throws -> EventPage {
        try await read { connection, logger in
            let bounds = try await connection.rows(
                "SELECT latest_sequence, (SELECT min(sequence) FROM usher_events) FROM usher_meta", logger: logger
            ) { try $0.decode((Int64, Int64?).self) }.first
            guard let (latest, oldest) = bounds else { throw PostgresStoreError.corruptRow }
            let after = Int64(clamping: sequence)
            guard after <= latest, after + 1 >= (oldest ?? latest + 1) else { return .gap(latest: UInt64(latest)) }
            guard after < latest, limit > 0 else { return .events([]) }
            // Bounded on both sides: with `sequence > $1` alone, a log without statistics yet (a new or fast-growing
            // table) is estimated to match a third of its rows and read by a full scan and a sort, at every page.
            let page = try await connection.rows(
                """
                SELECT sequence, kind, app, channel, user_id, user_info FROM usher_events
                WHERE sequence > \(after) AND sequence <= \(min(latest, after + Int64(limit))) ORDER BY sequence LIMIT \(limit)
                """, logger: logger, Self.event)
            // Retention may trim rows between the two statements: a page that does not start right after `after`
            // skipped events, which readers must learn as a gap, not silently.
            if let first = page.first, first.sequence != UInt64(after) + 1 { return .gap(latest: UInt64(latest)) }
            return .events(page)
        }
    }

    /// Returns when this instance learns of a newer event (its own commit or another instance's NOTIFY), or after
    /// `timeout`; the caller re-reads the table either way.
    public func waitForEvents(after sequence: UInt64, timeout: Duration) async throws {
        await notifier.wait(after: sequence, timeout: timeout)
    }

    public func latestSequence() async throws -> UInt64 {
        try await read { connection, logger in
            let latest = try await connection.rows("SELECT latest_sequence FROM usher_meta", logger: logger) {
                try $0.decode(Int64.self)
            }.first
            return UInt64(latest ?? 0)
        }
    }

    public func oldestRetainedSequence() async throws -> UInt64 {
        try await read { connection, logger in
            let row = try await connection.rows(
                "SELECT coalesce((SELECT min(sequence) FROM usher_events), latest_sequence + 1) FROM usher_meta",
                logger: logger
            ) { try $0.decode(Int64.self) }.first
            return UInt64(row ?? 1)
        }
    }

    private static func event(_ row: PostgresRow) throws -> StreamEvent {
        let (sequence, kindText, app, channel, userID, info) = try row.decode(
            (Int64, String, String, String?, String?, String?).self)
        guard let kind = StreamEvent.Kind(rawValue: kindText) else { throw PostgresStoreError.corruptRow }
        switch kind {
        case .subscriptionCount:
            guard let channel, let count = info.flatMap({ Int($0) }) else { throw PostgresStoreError.corruptRow }
            return StreamEvent(sequence: UInt64(sequence), app: app, channel: channel, subscriptionCount: count)
        case .clientEvent, .cacheMiss:
            // The row's user_info column holds the event's further members (`StreamEvent.extra`).
            return StreamEvent(sequence: UInt64(sequence), kind: kind, app: app, channel: channel, userID: userID, userInfo: nil, extra: info)
        default:
            break
        }
        return StreamEvent(
            sequence: UInt64(sequence), kind: kind, app: app, channel: channel, userID: userID, userInfoJSON: info)
    }
}
