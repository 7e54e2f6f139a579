import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import UsherCore

/// `GET /relay/v1/events`: the event log as Server-Sent Events, resumable with `Last-Event-ID`.
///
/// Each consumer pulls from the log at its own pace, so a slow one never delays joins; one that falls behind the
/// retained log (or resumes from an unknown position) gets `event: reset` and continues from the newest event.
struct EventStreamController: Sendable {
    let store: any PresenceStore
    let keepAlive: Duration
    let metrics: UsherMetrics

    func register(with group: RouterGroup<some RequestContext>) {
        group.get("/events") { request, _ in try await stream(request) }
    }

    func stream(_ request: Request) async throws -> Response {
        let app = request.uri.queryParameters["app"].map(String.init)
        let header = request.headers[Self.lastEventID].flatMap { UInt64($0) }
        let query = request.uri.queryParameters["last_event_id"].flatMap { UInt64(String($0)) }
        let resumeFrom: UInt64? = header ?? query
        let start: UInt64 = if let resumeFrom { resumeFrom } else { try await store.latestSequence() }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            metrics.sseConsumers.increment()
            defer { metrics.sseConsumers.decrement() }
            try await pump(from: start, app: app, into: &writer)
            try await writer.finish(nil)
        })
    }

    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    /// Waits are sliced so an open stream notices graceful shutdown within this time.
    static let shutdownCheck: Duration = .seconds(1)

    private func pump(from start: UInt64, app: String?, into writer: inout any ResponseBodyWriter) async throws {
        var cursor = start
        try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
        var lastWrite = ContinuousClock.now
        // An open stream must not hold up shutdown: it ends when graceful shutdown starts.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            switch try await store.events(after: cursor, limit: 256) {
            case .gap(let latest):
                try await writer.write(ByteBuffer(string: "id: \(latest)\nevent: reset\ndata: {\"latest\":\(latest)}\n\n"))
                metrics.sseResets.increment()
                cursor = latest
                lastWrite = .now
            case .events(let events):
                var buffer = ByteBuffer()
                for event in events where app == nil || event.app == app {
                    buffer.writeString("id: \(event.sequence)\nevent: \(event.kind.rawValue)\ndata: \(event.data)\n\n")
                }
                if let last = events.last { cursor = last.sequence }
                if buffer.readableBytes > 0 {
                    try await writer.write(buffer)
                    lastWrite = .now
                } else if ContinuousClock.now - lastWrite >= keepAlive {
                    // Idle, or only other apps' events: a comment keeps proxies from closing the stream, and the id
                    // keeps a filtered consumer's resume position current.
                    try await writer.write(ByteBuffer(string: "id: \(cursor)\n: keep-alive\n\n"))
                    lastWrite = .now
                }
                if events.isEmpty {
                    try await store.waitForEvents(after: cursor, timeout: min(keepAlive, Self.shutdownCheck))
                } else {
                    // Saturating: a store replaced under a running server (a restored database) may be behind the cursor.
                    let latest = try await store.latestSequence()
                    metrics.sseLag.record(Int64(latest > cursor ? latest - cursor : 0))
                }
            }
        }
    }
}
