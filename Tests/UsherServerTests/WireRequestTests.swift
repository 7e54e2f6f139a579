import HTTPTypes
import Testing
@testable import UsherServer

/// The fast path's request recogniser: the canonical request is read exactly; every prefix of it waits for more;
/// anything it was not written to decide is `.unsupported`, so NIO's parser gets it.
@Suite struct WireRequestTests {
    static let limits = WireRequest.Limits(maxBodyBytes: 64)
    static let body = "socket_id=1.2&channel_name=private-a"
    static let canonical =
        "POST /pusher/auth?app_key=k HTTP/1.1\r\nHost: usher\r\nauthorization:   Bearer t  \r\n"
        + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"

    static func parse(_ text: String, limits: WireRequest.Limits = limits) -> WireRequest.Outcome {
        Array(text.utf8).withUnsafeBytes { WireRequest.parse($0, limits: limits) }
    }

    @Test("the canonical request is read exactly, and a following request is left alone")
    func canonical() throws {
        guard case .request(let request) = Self.parse(Self.canonical + "POST /pusher/auth HTTP/1.1\r\n") else {
            Issue.record("not parsed")
            return
        }
        #expect(request.target == "/pusher/auth?app_key=k")
        #expect(request.fields[.authorization] == "Bearer t")
        #expect(request.authorization == "Bearer t")
        #expect(request.origin == nil)
        #expect(request.fields[.contentType] == "application/x-www-form-urlencoded")
        #expect(request.fields[HTTPField.Name("Host")!] == nil)  // the authority, as NIO's conversion leaves it
        guard case .request(let twoHosts) = Self.parse("POST /pusher/auth HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") else {
            Issue.record("two hosts not parsed")
            return
        }
        #expect(twoHosts.fields[values: HTTPField.Name("Host")!] == ["b"])  // only the first becomes the authority
        // Repeated lines are combined as HTTPFields combines them (which the router's lookups see).
        guard case .request(let repeated) = Self.parse("POST /pusher/auth HTTP/1.1\r\nOrigin: https://a\r\nauthorization: x\r\nOrigin: https://b\r\nAuthorization: y\r\n\r\n")
        else {
            Issue.record("repeated fields not parsed")
            return
        }
        #expect(repeated.authorization == repeated.fields[.authorization])
        #expect(repeated.origin == repeated.fields[.origin])
        #expect(repeated.origin?.contains("https://a") == true && repeated.origin?.contains("https://b") == true)
        #expect(request.body == Array(Self.body.utf8))
        #expect(request.length == Self.canonical.utf8.count)
        #expect(!request.close)
    }

    @Test("every proper prefix of the canonical request is incomplete")
    func prefixes() {
        let bytes = Array(Self.canonical.utf8)
        for end in 0..<bytes.count {
            let outcome = bytes[..<end].withUnsafeBytes { WireRequest.parse($0, limits: Self.limits) }
            guard case .incomplete = outcome else {
                Issue.record("prefix of \(end) bytes: \(outcome)")
                return
            }
        }
    }

    @Test(
        "requests it was not written to decide are unsupported",
        arguments: [
            "GET /pusher/auth HTTP/1.1\r\n\r\n",
            "POST /pusher/user-auth HTTP/1.1\r\n\r\n",
            "POST /pusher/authx HTTP/1.1\r\n\r\n",
            "POST /pusher/auth#x HTTP/1.1\r\n\r\n",
            "POST /pusher/auth HTTP/1.0\r\n\r\n",
            "post /pusher/auth HTTP/1.1\r\n\r\n",
            "POST /pusher/auth  HTTP/1.1\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\nHost: u\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nHost: u\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nHost: u\r\n X: folded\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nHost : u\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\n: u\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nX: a\u{0}b\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nX: a\u{7F}b\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: +1\r\n\r\na",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 1 1\r\n\r\na",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: \r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 65\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\n\r\r\n",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 1\t\r\n\r\na",
            "POST /pusher/auth HTTP/1.1\r\nContent-Length: 1 \r\n\r\na",
            "POST /pusher/auth HTTP/1.1\r\nConnection: close\t\r\n\r\n",
            "POST /pusher/auth HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
        ]
    )
    func unsupported(_ request: String) {
        guard case .unsupported = Self.parse(request) else {
            Issue.record("accepted: \(request.debugDescription)")
            return
        }
    }

    @Test("Connection: close is seen among options; keep-alive is fine; a missing length is an empty body")
    func connectionOptions() throws {
        for (value, closes) in [("close", true), ("Keep-Alive", false), ("keep-alive, Close", true)] {
            guard case .request(let request) = Self.parse("POST /pusher/auth HTTP/1.1\r\nConnection: \(value)\r\n\r\n") else {
                Issue.record("not parsed: \(value)")
                continue
            }
            #expect(request.close == closes, "\(value)")
            #expect(request.body.isEmpty)
        }
    }

    @Test("a head over the limit, or too many fields, is unsupported rather than buffered without end")
    func limits() {
        let long = "POST /pusher/auth HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000)
        if case .unsupported = Self.parse(long) {} else { Issue.record("a long unfinished head was not refused") }
        let many = "POST /pusher/auth HTTP/1.1\r\n" + String(repeating: "X: a\r\n", count: 65) + "\r\n"
        if case .unsupported = Self.parse(many) {} else { Issue.record("65 fields were accepted") }
        let body = "POST /pusher/auth HTTP/1.1\r\nContent-Length: 64\r\n\r\n" + String(repeating: "a", count: 64)
        if case .request = Self.parse(body) {} else { Issue.record("a body at the limit was not accepted") }
    }

    @Test(
        "the relay routes are recognised with their parameter; any other target is unsupported",
        arguments: [
            ("/relay/v1/apps/4712/subscriptions", WireRequest.Route.relaySubscribe(app: "4712")),
            ("/relay/v1/nodes/relay-a.1_~x/batch", .relayBatch(node: "relay-a.1_~x")),
            ("/pusher/auth", .auth),
            ("/pusher/auth?a=1&b=%20", .auth),
            ("/relay/v1/apps/4712/subscriptions?x=1", nil),
            ("/relay/v1/apps/47%312/subscriptions", nil),
            ("/relay/v1/apps/../subscriptions", nil),
            ("/relay/v1/apps//subscriptions", nil),
            ("/relay/v1/apps/a/b/subscriptions", nil),
            ("/relay/v1/apps/4712/subscriptions/", nil),
            ("/relay/v1/nodes/n/batchx", nil),
            ("/relay/v1/apps/4712/sockets", nil),
            ("/relay/v2/nodes/n/batch", nil),
            ("/pusher/authx", nil),
        ] as [(String, WireRequest.Route?)]
    )
    func routes(target: String, route: WireRequest.Route?) {
        let outcome = Self.parse("POST \(target) HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        switch (outcome, route) {
        case (.request(let request), let route?):
            #expect(request.route == route)
            #expect(request.target == target)
        case (.unsupported, nil):
            break
        default:
            Issue.record("\(target): \(outcome)")
        }
    }

    @Test("a relay batch may carry up to the batch limit; other routes the body limit")
    func batchLimit() {
        let limits = WireRequest.Limits(maxBodyBytes: 8, maxBatchBytes: 16)
        let request = { (path: String, size: Int) in
            Self.parse("POST \(path) HTTP/1.1\r\nContent-Length: \(size)\r\n\r\n" + String(repeating: " ", count: size), limits: limits)
        }
        if case .request = request("/relay/v1/nodes/n/batch", 16) {} else { Issue.record("a batch at its limit was refused") }
        if case .unsupported = request("/relay/v1/nodes/n/batch", 17) {} else { Issue.record("a batch over its limit was accepted") }
        if case .unsupported = request("/relay/v1/apps/1/subscriptions", 9) {} else { Issue.record("a subscription over the body limit was accepted") }
    }
}
