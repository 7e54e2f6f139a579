import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import UsherCore
import UsherCrypto

/// `POST /pusher/auth` and `POST /pusher/user-auth`: who is asking (identity), may they (policy), and the signed
/// Pusher answer (signer). Success is exactly 200 with the JSON shape pusher-js expects.
struct AuthController: Sendable {
    let registry: AppRegistryBox
    let configuration: UsherConfiguration

    func register(with router: Router<some RequestContext>) {
        router.post("/pusher/auth") { request, context in try await channelAuth(request, context: context) }
        router.post("/pusher/user-auth") { request, context in try await userAuth(request, context: context) }
    }

    func channelAuth(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        return .json(try channelAuth(headers: request.headers, query: request.uri, body: Array(buffer: body), logger: context.logger))
    }

    /// The whole of `POST /pusher/auth` once its body is read: synchronous, so the event-loop fast path
    /// (`FastPathHandler`) and the router answer with the same code.
    func channelAuth(headers: HTTPFields, query: URI, body: [UInt8], logger: Logger) throws -> String {
        let (parameters, app) = try read(headers: headers, query: query, body: body)
        let socketID = try SocketID(validating: try required(parameters, "socket_id"))
        let channel = try ChannelName(validating: try required(parameters, "channel_name"), maxLength: configuration.channelNameMaxLength)
        let identity = try authorize(headers, parameters: parameters, app: app, channel: channel, socketID: socketID, logger: logger)
        let channelData = channel.kind == .presence
            ? try ChannelData.make(userID: identity.userID, userInfo: identity.userInfo, limits: app.limits)
            : nil
        let authorization = try app.authorizer(at: Date()).authorize(socketID: socketID, channel: channel, channelData: channelData)
        return authorization.jsonBody
    }

    func userAuth(_ request: Request, context: some RequestContext) async throws -> Response {
        let (parameters, app) = try await read(request, context: context)
        let socketID = try SocketID(validating: try required(parameters, "socket_id"))
        let identity = try identify(request.headers, parameters: parameters, app: app, socketID: socketID, logger: context.logger)
        let watchlist: [String]? = switch identity.claims?["watchlist"] {
        case .array(let ids)?: ids.compactMap(\.stringValue)
        default: nil
        }
        let userData = try UserData.make(userID: identity.userID, userInfo: identity.userInfo, watchlist: watchlist, limits: app.limits)
        return .json(try app.authorizer(at: Date()).signIn(socketID: socketID, userData: userData).jsonBody)
    }

    /// Identity, then policy, for one channel; the shared front half of channel auth and channel tokens.
    func authorize(
        _ headers: HTTPFields, parameters: AuthParameters, app: AppRuntime, channel: ChannelName, socketID: SocketID?, logger: Logger
    ) throws -> Identity {
        guard channel.requiresAuthorization else { throw channel.kind == .public ? CoreError.publicChannel : CoreError.forbiddenChannel }
        let identity = try identify(headers, parameters: parameters, app: app, socketID: socketID, logger: logger)
        do {
            try app.policy.authorize(channel: channel, claims: identity.claims, userID: identity.userID)
        } catch {
            logger.info("channel refused by policy", metadata: ["usher.channel": "\(channel)", "usher.app": "\(app.app.id)"])
            throw error
        }
        return identity
    }

    func read(_ request: Request, context: some RequestContext) async throws -> (AuthParameters, AppRuntime) {
        let body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        return try read(headers: request.headers, query: request.uri, body: Array(buffer: body))
    }

    /// Parses the form or JSON body and selects the app from `app_key`/`app_id` (body first, then query).
    func read(headers: HTTPFields, query uri: URI, body: [UInt8]) throws -> (AuthParameters, AppRuntime) {
        let parameters = try AuthParameters(body: body, contentType: headers[.contentType])
        // Parsed only when present: most auth requests carry no query string.
        let query = uri.query == nil ? nil : uri.queryParameters
        let key = parameters["app_key"] ?? query?["app_key"].map(String.init)
        let id = parameters["app_id"] ?? query?["app_id"].map(String.init)
        return (parameters, try registry.current.select(key: key, id: id))
    }

    func required(_ parameters: AuthParameters, _ name: String) throws(ServerError) -> String {
        guard let value = parameters[name] else { throw .malformedRequest("missing field \(name)") }
        return value
    }

    /// Bearer header first, then the `token` field, then the configured cookie; dev mode falls back to anonymous.
    func identify(
        _ headers: HTTPFields, parameters: AuthParameters, app: AppRuntime, socketID: SocketID?, logger: Logger
    ) throws(ServerError) -> Identity {
        if let token = Self.token(headers, parameters: parameters, cookie: app.identity?.cookie) {
            guard let verifier = app.identity else {
                if app.allowsAnonymous { return anonymous(parameters, socketID: socketID) }
                throw .invalidIdentity
            }
            return try verifier.identity(token: token, now: Date(), logger: logger)
        }
        guard app.allowsAnonymous else { throw .missingIdentity }
        return anonymous(parameters, socketID: socketID)
    }

    private func anonymous(_ parameters: AuthParameters, socketID: SocketID?) -> Identity {
        // Dev only: the caller names itself; without a name each connection is its own user.
        let fallback = socketID.map { "anonymous-\($0)" } ?? "anonymous-" + Hex.encode(SecureRandom.bytes(count: 6))
        let userID = parameters["user_id"].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        return Identity(userID: userID, userInfo: nil, claims: nil)
    }

    static func token(_ headers: HTTPFields, parameters: AuthParameters, cookie: String?) -> Substring? {
        // `Bearer <token>`, scheme case-insensitive; a 7-character prefix lowercases as a small string, off the heap.
        if let header = headers[.authorization], header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " {
            let token = header.dropFirst(7).trimmingSpaces
            if !token.isEmpty { return token }
        }
        if let field = parameters["token"], !field.isEmpty { return field[...] }
        if let cookie, let value = Cookies(from: headers[values: .cookie])[cookie]?.value, !value.isEmpty { return value[...] }
        return nil
    }
}

extension Response {
    /// A 200 JSON response whose body is sent exactly as given.
    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        json(ByteBuffer(string: body), status: status)
    }

    /// A JSON response whose body is the buffer's readable bytes.
    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
    }
}
