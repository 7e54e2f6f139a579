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
        guard var header else { return false }
        return header.withUTF8 { bytes in
            let scheme = "bearer ".utf8
            // ASCII letters compared without case; every other byte exactly.
            let lowered = { (byte: UInt8) in (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte }
            guard bytes.count > scheme.count, zip(bytes, scheme).allSatisfy({ lowered($0) == $1 }) else { return false }
            return token.matches(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[scheme.count...])))
        }
    }
}

/// A relay call without the relay token: 401 with `WWW-Authenticate: Bearer`.
struct RelayTokenRefusal: Error {
    static let answer = ErrorAnswer(.unauthorized, "relay token required", headers: [.wwwAuthenticate: "Bearer"])
}
