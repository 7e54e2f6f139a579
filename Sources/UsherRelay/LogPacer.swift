import Synchronization

/// Paces a warning that can repeat thousands of times a second (Usher overloaded, a peer down): the first occurrence
/// is logged, then at most one line per ``interval``, carrying how many occurred since the previous line. Each key (a
/// warning's message, a peer) is paced on its own; keys are a small fixed set, so the table stays small.
final class LogPacer: Sendable {
    let interval: Duration
    private let lines = Mutex<[String: (lastLog: ContinuousClock.Instant, unlogged: Int)]>([:])

    init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Records `count` occurrences of `key`; returns the number to log (those since the previous line, these
    /// included) when a line is due, or nil.
    func note(_ key: String, count: Int = 1) -> Int? {
        lines.withLock { lines in
            let now = ContinuousClock.now
            guard let line = lines[key] else {
                lines[key] = (now, 0)
                return count
            }
            guard now - line.lastLog >= interval else {
                lines[key]!.unlogged += count
                return nil
            }
            lines[key] = (now, 0)
            return line.unlogged + count
        }
    }
}
