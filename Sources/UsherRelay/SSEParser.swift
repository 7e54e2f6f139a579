/// One Server-Sent Event from Usher's `/relay/v1/events`.
struct SSEMessage: Sendable, Equatable {
    var id: UInt64?
    var event: String = "message"
    var data: String = ""
}

/// Incremental `text/event-stream` parser: feed body chunks, get complete events (blank line dispatches;
/// `:` lines are comments; an `id` line alone still moves the resume position).
struct SSEParser {
    private var line: [UInt8] = []
    private var current = SSEMessage()
    private var dataLines: [String] = []
    /// The last id seen, including ids on comment-only blocks (Usher's keep-alives carry one).
    private(set) var lastID: UInt64?

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEMessage] {
        var out: [SSEMessage] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if let message = endLine() { out.append(message) }
            } else if byte != UInt8(ascii: "\r") {
                line.append(byte)
            }
        }
        return out
    }

    private mutating func endLine() -> SSEMessage? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            defer {
                current = SSEMessage()
                dataLines = []
            }
            guard !dataLines.isEmpty else { return nil }
            current.data = dataLines.joined(separator: "\n")
            return current
        }
        if line.first == UInt8(ascii: ":") { return nil }
        // Split at the first colon byte and drop one space byte after it, as the SSE rules say (splitting the text
        // at a Character would miss a colon or space followed by a combining mark: fuzzing finding F3).
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
        var rest = colon.map { line[line.index(after: $0)...] } ?? line[line.endIndex...]
        if rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
        let value = String(decoding: rest, as: UTF8.self)
        switch field {
        case "id":
            current.id = UInt64(value)
            if let id = current.id { lastID = id }
        case "event": current.event = String(value)
        case "data": dataLines.append(String(value))
        default: break
        }
        return nil
    }
}
