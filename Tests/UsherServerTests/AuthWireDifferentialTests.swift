import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import UsherTestSupport
@testable import UsherServer

/// The fast path's recogniser against NIO's llhttp parser on thousands of mutated requests: whatever the fast path
/// accepts, llhttp must read as the same request (target, fields, body) ending at the same byte. A disagreement on
/// where a request ends is how request smuggling starts behind a proxy, so this is the property that matters most.
@Suite struct AuthWireDifferentialTests {
    static let body = "socket_id=1234.1234&channel_name=private-foobar"
    static let canonical = Array(
        ("POST /pusher/auth HTTP/1.1\r\nHost: usher\r\nAuthorization: Bearer a.b.c\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8
    )
    static let follower = Array("POST /pusher/auth?next=1 HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8)
    static let alphabet = Array("\r\n \t:,;0123456789aAzZ-_.?/#%\"".utf8) + [0, 0x7F, 0x80, 0xFF]
    static let fragments = [
        "Transfer-Encoding: chunked\r\n", "Content-Length: 3\r\n", "Content-Length: 0\r\n", "Connection: close\r\n",
        "Connection: keep-alive, upgrade\r\n", " folded\r\n", "\tfolded\r\n", "Expect: 100-continue\r\n", "X: y\r\n",
        "\r\n", "\n", "\r", "Content-Length : 5\r\n", "Content-Length: 05\r\n", "content-length:47\r\n",
        "Content-Length: 47\t\r\n", "Content-Length: 47 \r\n", "Connection: close\t\r\n", "Proxy-Connection: close\r\n",
        "Host: second\r\n",
    ].map { Array($0.utf8) }

    @Test("on 20,000 mutated requests, whatever the fast path accepts llhttp reads the same way", arguments: [1, 2, 3, 4] as [UInt64])
    func agreesWithLLHTTP(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var accepted = 0
        for _ in 0..<5000 {
            var bytes = Self.canonical
            for _ in 0..<Int.random(in: 1...3, using: &random) { Self.mutate(&bytes, using: &random) }
            let input = bytes + Self.follower
            let outcome = input.withUnsafeBytes { WireRequest.parse($0, limits: .init(maxBodyBytes: 16384)) }
            guard case .request(let request) = outcome else { continue }
            accepted += 1
            // What the fast path says is one request, then (unless it asked to close) a known next one: llhttp must
            // end the first exactly there for the second to parse.
            let framed = Array(input[..<request.length]) + (request.close ? [] : Self.follower)
            try Self.expectLLHTTPAgrees(framed, with: request)
        }
        #expect(accepted > 500)  // the mutations leave enough requests acceptable for the comparison to mean something
    }

    static func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        let at = Int.random(in: 0...bytes.count, using: &random)
        switch Int.random(in: 0..<5, using: &random) {
        case 0: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
        case 1 where at < bytes.count: bytes.remove(at: at)
        case 2 where at < bytes.count: bytes[at] = alphabet.randomElement(using: &random)!
        case 3:
            // At a line start, so most insertions are whole header lines.
            let lineStarts = bytes.indices.filter { $0 > 0 && bytes[$0 - 1] == UInt8(ascii: "\n") }
            let start = lineStarts.randomElement(using: &random) ?? at
            bytes.insert(contentsOf: fragments.randomElement(using: &random)!, at: start)
        default:
            if at < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[at] | 0x20) { bytes[at] ^= 0x20 }
        }
    }

    /// llhttp must parse `input` into `request`, then the follower request unless `request` closes the connection.
    static func expectLLHTTPAgrees(_ input: [UInt8], with request: WireRequest) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        defer { _ = try? channel.finish() }
        let description = String(decoding: input, as: UTF8.self).debugDescription
        do {
            try channel.writeInbound(ByteBuffer(bytes: input))
        } catch {
            Issue.record("the fast path accepts what llhttp refuses (\(error)): \(description)")
            return
        }
        var parts = [HTTPServerRequestPart]()
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        guard case .head(let head) = parts.first else { Issue.record("no head from llhttp: \(description)"); return }
        #expect(head.method == .POST && head.version == .http1_1, "\(description)")
        #expect(head.uri == request.target, "\(description)")
        // As the router sees them: the first Host becomes the authority, the rest go through the HTTPField
        // initialiser NIO's HTTPTypes conversion uses.
        var fields = Array(head.headers)
        if let host = fields.firstIndex(where: { $0.name.lowercased() == "host" }) { fields.remove(at: host) }
        let llhttpFields = fields.compactMap { field in
            HTTPField.Name(field.name).map { "\($0.canonicalName): \(HTTPField(name: $0, value: field.value).value)" }
        }
        let ourFields = request.fields.map { "\($0.name.canonicalName): \($0.value)" }
        #expect(llhttpFields == ourFields, "\(description)")
        var body = [UInt8]()
        var index = 1
        while index < parts.count, case .body(let chunk) = parts[index] {
            body += chunk.readableBytesView
            index += 1
        }
        #expect(body == request.body, "\(description)")
        guard index < parts.count, case .end = parts[index] else { Issue.record("no end where the fast path ends: \(description)"); return }
        guard !request.close else { return }
        // The next request starts exactly where the fast path says this one ends.
        guard index + 1 < parts.count, case .head(let next) = parts[index + 1] else {
            Issue.record("llhttp did not find the following request: \(description)"); return
        }
        #expect(next.uri == "/pusher/auth?next=1", "\(description)")
    }
}
