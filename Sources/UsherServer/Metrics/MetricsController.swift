import Hummingbird
import UsherCore

/// `GET /metrics` in the Prometheus text format; presence gauges are refreshed at scrape time.
struct MetricsController: Sendable {
    let metrics: UsherMetrics
    let statistics: @Sendable () async throws -> StoreStatistics

    func register(with router: Router<some RequestContext>) {
        router.get("/metrics") { _, _ in
            metrics.update(try await statistics())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition()))
            )
        }
    }
}
