import Foundation
import Hummingbird
import UsherCore
import UsherCrypto

/// `POST /v1/tokens` (a signed channel token for the caller, same identity and policy as `/pusher/auth`),
/// `POST /v1/tokens/verify` (for relays without a JOSE library) and `GET /.well-known/jwks.json`.
struct TokenController: Sendable {
    let auth: AuthController
    let keys: SigningKeysBox
    let tokens: ChannelTokens

    func register(with router: Router<some RequestContext>) {
        router.post("/v1/tokens") { request, context in try await issue(request, context: context) }
        router.post("/v1/tokens/verify") { request, context in try await verify(request, context: context) }
        router.get("/.well-known/jwks.json") { _, _ in jwks() }
    }

    func issue(_ request: Request, context: some RequestContext) async throws -> Response {
        let (parameters, app) = try await auth.read(request, context: context)
        let channel = try ChannelName(validating: try auth.required(parameters, "channel"), maxLength: auth.configuration.channelNameMaxLength)
        let socketID = try parameters["socket_id"].map { try SocketID(validating: $0) }
        let ttl = try parameters["ttl"].map { text throws(ServerError) -> Int in
            guard let value = Int(text), value > 0 else { throw .malformedRequest("ttl must be a positive number of seconds") }
            return value
        }
        let identity = try auth.authorize(request.headers, parameters: parameters, app: app, channel: channel, socketID: socketID, logger: context.logger)
        if channel.kind == .presence {
            // The same limits as presence auth strings, so a token never admits a member an auth string would refuse.
            _ = try ChannelData.make(userID: identity.userID, userInfo: identity.userInfo, limits: app.limits)
        }
        let issued = try tokens.issue(
            with: keys.current, app: app.app, identity: identity, channel: channel, socketID: socketID, ttl: ttl, now: Date()
        )
        return .json(#"{"token":"# + JSON.quoted(issued.token) + #","expires_at":"# + String(issued.expiresAt) + "}")
    }

    func verify(_ request: Request, context: some RequestContext) async throws -> Response {
        // Not `auth.read`: that selects an app from app_key/app_id, and with several apps served a relay would have
        // to name one; the token's audience names it.
        let buffer = try await request.body.collect(upTo: auth.configuration.maxBodyBytes)
        let parameters = try AuthParameters(body: Array(buffer: buffer), contentType: request.headers[.contentType])
        let token = try auth.required(parameters, "token")
        let channel = try parameters["channel"].map { try ChannelName(validating: $0, maxLength: auth.configuration.channelNameMaxLength) }
        let socketID = try parameters["socket_id"].map { try SocketID(validating: $0) }
        // The audience names the app; find it without trusting anything else in the unverified payload.
        let apps = auth.registry.current
        guard let audience = Self.unverifiedAudience(token), let app = try? apps.select(key: audience, id: nil) else {
            throw ServerError.invalidIdentity
        }
        let claims = try tokens.verify(token, with: keys.current, app: app.app, channel: channel, socketID: socketID, now: Date())
        return .json(#"{"valid":true,"app_id":"# + JSON.quoted(app.app.id) + #","claims":"# + JSONValue.object(claims.payload).jsonText + "}")
    }

    func jwks() -> Response {
        let current = keys.current
        // Relays may cache the set, but never past the next retirement, and refetch on an unknown kid.
        var maxAge = 60
        if let next = current.nextRetirement { maxAge = max(0, min(maxAge, Int(next.timeIntervalSinceNow))) }
        var response = Response.json(current.jwks)
        response.headers[.cacheControl] = "public, max-age=\(maxAge)"
        return response
    }

    static func unverifiedAudience(_ token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count <= 8192, let payload = Base64.urlDecode(parts[1]),
            let value = try? JSONValue.parse(bytes: payload)
        else { return nil }
        return value["aud"]?.stringValue
    }
}
