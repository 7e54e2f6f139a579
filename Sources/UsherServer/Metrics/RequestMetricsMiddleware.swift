import Hummingbird

/// Counts responses by route pattern and status (outermost, so refusals turned into JSON errors are counted too).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: UsherMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        metrics.request(route: context.endpointPath ?? "unmatched", status: response.status.code)
        return response
    }
}
