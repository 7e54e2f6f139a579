import Foundation
import Hummingbird
import UsherCore
import UsherCrypto

/// Authenticates `/apps/{app_id}/…` requests signed like the Pusher HTTP API, so official server SDKs work unchanged.
struct APIRequestVerifier: Sendable {
    let registry: AppRegistryBox
    let signature: APIRequestSignature
    let maxBodyBytes: Int

    /// Verifies the request and returns its app and body. `appID` is the URL's app id (nil for the unprefixed
    /// `/users/{id}/terminate_connections` path pusher-http-python uses: the app then comes from `auth_key`).
    func authenticate(_ request: Request, appID: String?) async throws -> (app: AppRuntime, body: [UInt8]) {
        let body = Array(buffer: try await request.body.collect(upTo: maxBodyBytes))
        let (path, query) = try Self.split(request.head.path ?? "/")
        let signed = APIRequestSignature.Request(method: request.method.rawValue, path: path, query: query, body: body)
        guard let key = APIRequestSignature.authKey(of: signed) else { throw APIRefusal.unauthorized("missing auth_key") }
        let app: AppRuntime
        do {
            app = try registry.current.select(key: key, id: appID)
        } catch {
            throw APIRefusal.unauthorized("auth_key does not belong to this app")
        }
        do {
            try signature.verify(signed, app: app.app, now: Date())
        } catch {
            throw error.isMalformed ? APIRefusal.badRequest(error.description) : APIRefusal.unauthorized(error.description)
        }
        return (app, body)
    }

    /// The raw path (as signed by the SDK) and the percent-decoded query pairs, duplicates kept for the verifier.
    static func split(_ target: String) throws -> (String, [(name: String, value: String)]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, []) }
        var pairs: [(name: String, value: String)] = []
        for pair in target[target.index(after: mark)...].utf8.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try AuthParameters.percentDecode(ArraySlice(parts[0]))
            let value = parts.count > 1 ? try AuthParameters.percentDecode(ArraySlice(parts[1])) : ""
            pairs.append((name, value))
        }
        return (String(target[..<mark]), pairs)
    }
}

/// An HTTP API refusal: 400 or 401 with a message naming what was wrong.
struct APIRefusal: Error {
    let status: HTTPResponse.Status
    let message: String

    static func unauthorized(_ message: String) -> APIRefusal { APIRefusal(status: .unauthorized, message: message) }
    static func badRequest(_ message: String) -> APIRefusal { APIRefusal(status: .badRequest, message: message) }
}
