import Testing
@testable import UsherRelay

/// The relay's reader of Usher's event stream, without I/O.
@Suite struct SSEParserTests {
    @Test("events split across chunks are reassembled; comments and retry lines are skipped; ids on keep-alives count")
    func chunks() {
        let stream = "retry: 1000\n\nid: 7\nevent: member_added\ndata: {\"app\":\"3\"}\n\nid: 9\n: keep-alive\n\nid: 10\nevent: reset\ndata: {\"latest\":10}\n\n"
        var parser = SSEParser()
        var messages: [SSEMessage] = []
        for split in stride(from: 0, to: stream.utf8.count, by: 5) {
            let bytes = Array(stream.utf8)[split..<min(split + 5, stream.utf8.count)]
            messages += parser.feed(bytes)
            if split == 50 { #expect(parser.lastID == 7) }
        }
        #expect(messages == [
            SSEMessage(id: 7, event: "member_added", data: #"{"app":"3"}"#),
            SSEMessage(id: 10, event: "reset", data: #"{"latest":10}"#),
        ])
        #expect(parser.lastID == 10)
    }

    @Test("CRLF line ends and multi-line data are read per the SSE rules")
    func crlf() {
        var parser = SSEParser()
        let messages = parser.feed(Array("data: a\r\ndata: b\r\n\r\n".utf8))
        #expect(messages == [SSEMessage(id: nil, event: "message", data: "a\nb")])
    }

    @Test("a field splits at the colon byte, one space byte dropped, even before a combining mark (fuzzing F3)")
    func combiningMarks() {
        var parser = SSEParser()
        // `data:` then U+0744 (a combining mark) and `x`; then ` ` + U+0301 after the colon.
        let messages = parser.feed(Array("data:\u{0744}x\n\ndata: \u{0301}y\n\n".utf8))
        #expect(messages == [
            SSEMessage(id: nil, event: "message", data: "\u{0744}x"), SSEMessage(id: nil, event: "message", data: "\u{0301}y"),
        ])
    }
}

/// Frames as clients parse them.
@Suite struct PusherFrameTests {
    @Test("internal events carry JSON text as a string; pusher:error carries an object")
    func shapes() {
        #expect(PusherFrame.memberRemoved(channel: "presence-a", userID: "7")
            == #"{"event":"pusher_internal:member_removed","channel":"presence-a","data":"{\"user_id\":\"7\"}"}"#)
        #expect(PusherFrame.error(code: 4001, message: "no")
            == #"{"event":"pusher:error","data":{"code":4001,"message":"no"}}"#)
        #expect(PusherFrame.subscriptionError(channel: "private-x", type: "AuthError", error: "bad", status: 403)
            == #"{"event":"pusher:subscription_error","channel":"private-x","data":"{\"type\":\"AuthError\",\"error\":\"bad\",\"status\":403}"}"#)
    }
}
