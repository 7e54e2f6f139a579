import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer
@_spi(Fuzzing) import UsherStore

/// The fixture every route-running target shares: apps `fuzz` and `dev`, made once per process.
let fixture: ServerFuzzing.Fixture = {
    do {
        return try ServerFuzzing.Fixture(keysDirectory: scratchDirectory + "/keys")
    } catch {
        fail("cannot set up the server fixture: \(error)")
    }
}()

/// `WireRequest.parse`, the fast path's recogniser of `POST /pusher/auth` and the relay's subscribe and batch calls.
///
/// Properties: a recognised request is exactly the bytes it claims (length, body at the end), every shorter prefix of
/// it is `.incomplete` (never `.unsupported` or another request), an unsupported input stays unsupported whatever
/// follows, and NIO's llhttp-based pipeline (`HTTPRequestDecoder` + `HTTP1ToHTTPServerCodec`, what the router
/// gets) reads the same method, target, fields and body from those bytes. The request's answer is then checked:
/// never a 500, always a JSON body.
enum WireTarget {
    static let maxHeadBytes = 2048
    static let maxBodyBytes = 1024
    static let maxBatchBytes = 4096

    static func parse(_ bytes: UnsafeRawBufferPointer) -> ServerFuzzing.WireOutcome {
        ServerFuzzing.parseWireRequest(bytes, maxHeadBytes: maxHeadBytes, maxBodyBytes: maxBodyBytes, maxBatchBytes: maxBatchBytes)
    }

    static func run(_ data: UnsafeRawBufferPointer) {
        let outcome = parse(data)
        switch outcome {
        case .request(let request):
            checkRequest(request, in: data)
        case .incomplete(let length):
            if let length { check(length > data.count, "incomplete with a whole length \(length) ≤ \(data.count) bytes") }
            if data.count > 0 {
                let shorter = parse(UnsafeRawBufferPointer(rebasing: data[..<(data.count - 1)]))
                guard case .incomplete = shorter else { fail("a prefix of an incomplete request is \(shorter)") }
            }
        case .unsupported:
            var longer = Array(data)
            longer.append(UInt8(ascii: "\n"))
            let outcome = longer.withUnsafeBytes { parse($0) }
            check(outcome == .unsupported, "an unsupported input became \(outcome) with one more byte")
        }
    }

    private static func checkRequest(_ request: ServerFuzzing.WireResult, in data: UnsafeRawBufferPointer) {
        check(request.length <= data.count && request.body.count <= request.length, "request length \(request.length) of \(data.count) bytes")
        let headLength = request.length - request.body.count
        check(Array(data[headLength..<request.length]) == request.body, "the body is not the bytes after the head")
        check(data.starts(with: Array("POST \(request.target) HTTP/1.1\r\n".utf8)), "the request line is not POST target HTTP/1.1")
        check(data[..<headLength].suffix(4).elementsEqual("\r\n\r\n".utf8), "the head does not end with an empty line")
        // Exactly the request's bytes give the same request; every shorter prefix waits for more.
        let exact = parse(UnsafeRawBufferPointer(rebasing: data[..<request.length]))
        check(exact == .request(request), "the request's own bytes parse as \(exact)")
        for cut in Set([0, 1, headLength / 2, headLength - 1, headLength, headLength + request.body.count / 2, request.length - 1])
        where cut >= 0 && cut < request.length {
            let prefix = parse(UnsafeRawBufferPointer(rebasing: data[..<cut]))
            switch prefix {
            case .incomplete(nil): break
            case .incomplete(let length?): check(length == request.length, "prefix of \(cut) bytes claims length \(length), not \(request.length)")
            default: fail("a prefix of \(cut) bytes of a request is \(prefix)")
            }
        }
        compareWithLLHTTP(request, bytes: Array(data[..<request.length]))
        let answer = fixture.answer(request, store: MemoryPresenceStore(now: { 1_000 }))
        check(answer.status != 500, "the route answered 500: \(answer.body)")
        check((try? JSONValue.parse(answer.body)) != nil, "the answer is not JSON: \(answer.body)")
    }

    /// What the router would have received for the same bytes.
    private static func compareWithLLHTTP(_ request: ServerFuzzing.WireResult, bytes: [UInt8]) {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            fail("llhttp refused a request the fast path accepted (\(error)): \(show(bytes))")
        }
        var head: HTTPRequest?
        var body: [UInt8] = []
        var ended = false
        while let part = try? channel.readInbound(as: HTTPRequestPart.self) {
            switch part {
            case .head(let value): head = value
            case .body(let buffer): body += Array(buffer: buffer)
            case .end: ended = true
            }
        }
        guard let head, ended else { fail("llhttp did not read a whole request where the fast path did: \(show(bytes))") }
        check(head.method == .post, "llhttp read method \(head.method)")
        check(head.path == request.target, "llhttp read target \(head.path ?? "nil"), the fast path \(request.target)")
        let fields = head.headerFields.map { ServerFuzzing.Field(name: $0.name.rawName, value: $0.value) }
        check(fields == request.fields, "llhttp read fields \(fields), the fast path \(request.fields)")
        check(body == request.body, "llhttp read a body of \(body.count) bytes, the fast path \(request.body.count)")
    }
}
