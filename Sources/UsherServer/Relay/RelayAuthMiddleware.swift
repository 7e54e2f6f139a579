import Hummingbird

/// Guards `/relay/v1/*`: only callers presenting the relay token pass.
struct RelayAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: RelayToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.authorizes(request.headers[.authorization], token: token) else { return RelayTokenRefusal.answer.response }
        return try await next(request, context)
    }

    /// Whether an `Authorization` value presents the relay token. The scheme is case-insensitive (RFC 9110 §11.1);
    /// the token is compared in constant time.
    static func authorizes(_ header: String?, token: RelayToken) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        return token.matches(header.dropFirst(7))
    }
}

/// A relay call without the relay token: 401 with `WWW-Authenticate: Bearer`.
struct RelayTokenRefusal: Error {
    static let answer = ErrorAnswer(.unauthorized, "relay token required", headers: [.wwwAuthenticate: "Bearer"])
}
