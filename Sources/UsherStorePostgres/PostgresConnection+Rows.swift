import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs `query` and decodes every row with `decode`, in the order the database returns them.
    func rows<Row>(
        _ query: PostgresQuery, logger: Logger, _ decode: (PostgresRow) throws -> Row
    ) async throws -> [Row] {
        var rows: [Row] = []
        for try await row in try await self.query(query, logger: logger) {
            rows.append(try decode(row))
        }
        return rows
    }

    /// Runs `statement` (prepared on this connection the first time) and decodes every row with `decode`, in the order
    /// the database returns them.
    func rows<Statement: PreparedQuery, Row>(
        _ statement: Statement, logger: Logger, _ decode: (PostgresRow) throws -> Row
    ) async throws -> [Row] {
        var rows: [Row] = []
        for try await row in try await execute(statement, logger: logger) {
            rows.append(try decode(row))
        }
        return rows
    }

    /// Runs `query` and reports whether it returned any row (e.g. `DELETE … RETURNING 1`).
    func returnsRow(_ query: PostgresQuery, logger: Logger) async throws -> Bool {
        try await !rows(query, logger: logger) { _ in () }.isEmpty
    }
}

/// A statement that runs under the write lock on every group: PostgreSQL parses and plans it once per connection, not
/// on every run (planning the group's load statement took twice as long as running it).
///
/// `query` is the statement with one run's values, written as a `PostgresQuery` interpolation like any other; every
/// value in it is a bind, so its text is the same whatever the values, and a conforming type's `static let sql` is
/// that text, taken once from the query built for any values.
protocol PreparedQuery: PostgresPreparedStatement where Row == PostgresRow {
    var query: PostgresQuery { get }
}

extension PreparedQuery {
    func makeBindings() -> PostgresBindings {
        assert(query.sql == Self.sql, "\(Self.self): the statement's text depends on its values")
        return query.binds
    }

    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}
