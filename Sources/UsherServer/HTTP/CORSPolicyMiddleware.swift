import Hummingbird

/// CORS for the auth endpoints: pusher-js with custom headers (e.g. `Authorization: Bearer`) triggers a preflight.
/// Only configured origins are echoed back (with `Vary: Origin`); XHR never sends credentials, so none are allowed.
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let registry: AppRegistryBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = registry.current.corsOrigins.contains(origin)
        if request.method == .options {
            guard allowed, request.headers[.accessControlRequestMethod] != nil else {
                return JSONErrorMiddleware<Context>.response(.forbidden, "origin not allowed")
            }
            var headers = Self.headers(origin: origin)
            headers[.accessControlAllowMethods] = "POST, OPTIONS"
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "Content-Type, Authorization"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        Self.decorate(&response.headers, origin: origin, allowed: allowed)
        return response
    }

    /// The headers of a cross-origin answer (not a preflight); shared with the event-loop fast path.
    static func decorate(_ headers: inout HTTPFields, origin: String, allowed: Bool) {
        // Vary on every cross-origin answer, allowed or not, so shared caches never mix origins.
        headers[.vary] = "Origin"
        if allowed { headers[.accessControlAllowOrigin] = origin }
    }

    private static func headers(origin: String) -> HTTPFields {
        [.accessControlAllowOrigin: origin, .vary: "Origin", .vary: "Access-Control-Request-Headers"]
    }
}
