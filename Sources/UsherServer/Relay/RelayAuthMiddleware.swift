import Hummingbird

/// Guards `/relay/v1/*`: only callers presenting the relay token pass.
struct RelayAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: RelayToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            token.matches(header.dropFirst("Bearer ".count))
        else {
            return JSONErrorMiddleware<Context>.response(.unauthorized, "relay token required", headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }
}
