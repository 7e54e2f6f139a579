/// A member's pending removal: due at `deadline` unless the member rejoins first.
struct GraceEntry {
    let deadline: Int64
    /// Unique and increasing; breaks deadline ties in the order graces began, and tells a stale entry (the member
    /// rejoined, or rejoined and left again) from the live one.
    let ticket: UInt64
    let app: String
    let channel: String
    let userID: String
}

/// A binary min-heap of grace entries, earliest deadline (then ticket) first. Cancelled entries are left in place and
/// skipped when they surface.
///
/// Sifting runs on the array's buffer so entries are compared in place and moved, not copied: copying an entry
/// retains its three strings, which made copies the largest cost of a grace expiry.
struct GraceQueue {
    private var heap: [GraceEntry] = []

    /// The earliest entry, live or stale.
    var min: GraceEntry? { heap.first }

    mutating func push(_ entry: GraceEntry) {
        heap.append(entry)
        heap.withUnsafeMutableBufferPointer { buffer in
            var child = buffer.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.precedes(buffer, child, parent) else { break }
                buffer.swapAt(child, parent)
                child = parent
            }
        }
    }

    @discardableResult
    mutating func removeMin() -> GraceEntry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        heap.withUnsafeMutableBufferPointer { buffer in
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < buffer.count else { break }
                var smallest = left
                if left + 1 < buffer.count, Self.precedes(buffer, left + 1, left) { smallest = left + 1 }
                guard Self.precedes(buffer, smallest, parent) else { break }
                buffer.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }

    /// Whether the entry at `i` is due before the one at `j`.
    private static func precedes(_ buffer: UnsafeMutableBufferPointer<GraceEntry>, _ i: Int, _ j: Int) -> Bool {
        let (left, right) = (buffer[i].deadline, buffer[j].deadline)
        return left != right ? left < right : buffer[i].ticket < buffer[j].ticket
    }
}
