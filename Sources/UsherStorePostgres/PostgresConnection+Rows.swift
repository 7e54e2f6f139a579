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

    /// Runs `query` and reports whether it returned any row (e.g. `DELETE … RETURNING 1`).
    func returnsRow(_ query: PostgresQuery, logger: Logger) async throws -> Bool {
        try await !rows(query, logger: logger) { _ in () }.isEmpty
    }
}
