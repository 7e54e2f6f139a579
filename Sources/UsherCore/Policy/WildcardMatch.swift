/// Matches bytes against a pattern already split at its `*` wildcards.
///
/// `pieces` are the literal runs between wildcards, so `a*b*c` is `["a", "b", "c"]` and `*` is `["", ""]`.
/// The first piece is anchored at the start, the last at the end, and each middle piece is taken at its leftmost
/// occurrence: leftmost is always safe because it leaves the most room for what follows, so there is no
/// backtracking and the cost is at most text length × pattern length.
enum WildcardMatch {
    /// Whether `text` matches `pieces` joined by wildcards.
    static func matches(_ text: [UInt8], pieces: [[UInt8]]) -> Bool {
        guard let first = pieces.first, let last = pieces.last else { return false }
        if pieces.count == 1 { return text == first }
        guard text.count >= first.count + last.count,
            text.starts(with: first),
            text[(text.count - last.count)...].elementsEqual(last)
        else { return false }

        var position = first.count
        let end = text.count - last.count
        for piece in pieces.dropFirst().dropLast() {
            guard let found = firstIndex(of: piece, in: text, from: position, to: end) else { return false }
            position = found + piece.count
        }
        return true
    }

    /// The leftmost start of `piece` inside `text[from..<to]`, by direct comparison (inputs are at most a few KiB).
    private static func firstIndex(of piece: [UInt8], in text: [UInt8], from: Int, to end: Int) -> Int? {
        guard !piece.isEmpty else { return from }
        var start = from
        while start + piece.count <= end {
            if text[start..<(start + piece.count)].elementsEqual(piece) { return start }
            start += 1
        }
        return nil
    }
}
