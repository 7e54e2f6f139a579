/// The one error type of `UsherStorePostgres`: callers see only coarse kinds; details (never the password) go to logs.
///
/// ```swift
/// #expect(throws: PostgresStoreError.unavailable) { try await store.latestSequence() }
/// ```
public struct PostgresStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case unavailable, invalidURL, corruptRow
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The database cannot be reached, or did not answer in time; the server answers 503 and the caller retries.
    public static let unavailable = PostgresStoreError(.unavailable)
    /// The store URL is not `postgres://user[:password]@host[:port]/database`.
    public static let invalidURL = PostgresStoreError(.invalidURL)
    /// A row in the database does not decode as the schema promises (someone edited the tables by hand).
    public static let corruptRow = PostgresStoreError(.corruptRow)

    /// A message safe to show to clients.
    public var description: String {
        switch code {
        case .unavailable: "the presence database is unavailable; retry shortly"
        case .invalidURL: "store URL must be postgres://user[:password]@host[:port]/database"
        case .corruptRow: "the presence database holds a row that does not match the schema"
        }
    }
}
