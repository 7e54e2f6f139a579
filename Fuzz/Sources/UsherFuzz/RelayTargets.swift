@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherRelay

/// Pusher WebSocket messages as the relay reads them (`ClientMessage`), and the frames it builds from their parts.
///
/// Input: a text frame (the relay closes a connection that sends invalid UTF-8, so only valid UTF-8 is tried).
/// Properties: a message is read exactly when the text is a JSON object with a string `event`, with `channel`,
/// `data` and the data's string fields as a reference reads them; every frame built from those parts (the relayed
/// client event, a subscription error, a sign-in success, a member_added, an error) is a JSON object that carries
/// them back unchanged.
enum ClientMessageTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let text = String(validating: data, as: UTF8.self) else { return }
        let message = RelayFuzzing.clientMessage(text)
        let members = jsonObject(text)
        guard let members, case .string(let event)? = members["event"] else {
            check(message == nil, "a message without a JSON object and string event was read: \(show(text.utf8))")
            return
        }
        guard let message else { fail("a JSON object with a string event was refused: \(show(text.utf8))") }
        check(message.event == event && message.channel == members["channel"]?.stringValue && message.data == members["data"], "parts differ")
        let dataObject: JSONValue? = if case .string(let inner)? = members["data"] { try? JSONValue.parse(inner) } else { members["data"] }
        check(message.dataObject == dataObject, "data object differs")
        for name in ["channel", "auth", "channel_data", "user_data"] {
            check(message.fields[name] == dataObject?[name]?.stringValue, "field \(name) differs")
        }

        let channel = message.channel ?? message.fields["channel"] ?? "c"
        let userID = message.fields["auth"]
        let userData = message.fields["user_data"] ?? text
        let userInfo = message.dataObject
        let frames = RelayFuzzing.frames(event: event, channel: channel, data: message.data, userID: userID, userData: userData, userInfo: userInfo)
        let parsed = frames.map { frame -> [String: JSONValue] in
            guard let object = jsonObject(frame) else { fail("a frame is not a JSON object: \(frame)") }
            return object
        }
        // The relayed client event.
        check(parsed[0]["event"] == .string(event) && parsed[0]["channel"] == .string(channel), "client event frame: \(frames[0])")
        // Values re-serialized with `jsonText` read back the same.
        check(parsed[0]["data"] == message.data ?? .null, "client event frame's data: \(frames[0])")
        check(parsed[0]["user_id"] == userID.map(JSONValue.string), "client event frame's user_id: \(frames[0])")
        // Frames whose data is a JSON string holding JSON.
        func inner(_ index: Int) -> [String: JSONValue] {
            guard case .string(let text)? = parsed[index]["data"], let object = jsonObject(text) else { fail("frame's data is no JSON string: \(frames[index])") }
            return object
        }
        check(parsed[1]["channel"] == .string(channel) && inner(1)["error"] == .string(event), "subscription error frame: \(frames[1])")
        check(inner(2)["user_data"] == .string(userData), "sign-in success frame: \(frames[2])")
        let added = inner(3)
        check(added["user_id"] == .string(userID ?? event) && added["user_info"] == userInfo, "member_added frame: \(frames[3])")
        check(parsed[4]["data"]?["message"] == .string(event), "error frame: \(frames[4])")
    }
}

/// Usher's event stream as the relay reads it (`SSEParser`).
///
/// Input: byte 0 gives up to 7 chunk boundaries (the next bytes place them); the rest is the stream. Properties: the
/// events and the last id are the same whole or in chunks, and equal a reference parser written here from the
/// parser's documented rules (LF ends a line, CR is dropped, a blank line dispatches when data was given, `:`
/// starts a comment, a field's name ends at its first `:`, one space after it is dropped, a numeric `id` moves the
/// resume position).
enum SSETarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = FuzzReader(data)
        let cutCount = Int(reader.byte() & 7)
        var cuts: [Int] = []
        for _ in 0..<cutCount { cuts.append(Int(reader.byte())) }
        let stream = Array(reader.rest)
        let whole = RelayFuzzing.parseEventStream([stream[...]])
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        for cut in cuts.map({ stream.isEmpty ? 0 : $0 * stream.count / 256 }).sorted() {
            chunks.append(stream[start..<max(start, cut)])
            start = max(start, cut)
        }
        chunks.append(stream[start...])
        let chunked = RelayFuzzing.parseEventStream(chunks)
        check(whole.events == chunked.events && whole.lastID == chunked.lastID, "chunking changed the events of \(show(stream))")
        let expected = reference(stream)
        check(whole.events == expected.events, "events \(whole.events), the reference \(expected.events), for \(show(stream))")
        check(whole.lastID == expected.lastID, "last id \(String(describing: whole.lastID)), the reference \(String(describing: expected.lastID))")
    }

    static func reference(_ stream: [UInt8]) -> (events: [RelayFuzzing.Event], lastID: UInt64?) {
        var events: [RelayFuzzing.Event] = []
        var lastID: UInt64?
        var id: UInt64?
        var event = "message"
        var data: [String] = []
        for rawLine in stream.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            let line = rawLine.filter { $0 != UInt8(ascii: "\r") }
            if line.isEmpty {
                if !data.isEmpty { events.append(.init(id: id, event: event, data: data.joined(separator: "\n"))) }
                (id, event, data) = (nil, "message", [])
                continue
            }
            if line.first == UInt8(ascii: ":") { continue }
            let colon = line.firstIndex(of: UInt8(ascii: ":"))
            let name = String(decoding: line[..<(colon ?? line.endIndex)], as: UTF8.self)
            var value = colon.map { line[($0 + 1)...] } ?? []
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            let text = String(decoding: value, as: UTF8.self)
            switch name {
            case "id":
                id = UInt64(text)
                if let id { lastID = id }
            case "event": event = text
            case "data": data.append(text)
            default: break
            }
        }
        return (events, lastID)
    }
}
