import Hummingbird

/// Guards `/relay/v1/*`: only callers presenting the relay token pass.
struct RelayAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: RelayToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The scheme is case-insensitive (RFC 9110 §11.1); the token is compared in constant time.
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
            token.matches(header.dropFirst(7))
        else {
            return JSONErrorMiddleware<Context>.response(.unauthorized, "relay token required", headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }
}
