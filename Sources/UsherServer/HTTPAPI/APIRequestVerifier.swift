import Foundation
import Hummingbird
import UsherCore
import UsherCrypto

/// Authenticates `/apps/{app_id}/…` requests signed like the Pusher HTTP API, so official server SDKs work unchanged.
struct APIRequestVerifier: Sendable {
    let registry: AppRegistryBox
    let signature: APIRequestSignature
    let maxBodyBytes: Int

    /// A verified request: its app, raw body, and decoded query parameters with lower-cased names (exactly what was
    /// signed, so handlers never read parameters the signature did not cover in another spelling).
    struct Verified {
        let app: AppRuntime
        let body: [UInt8]
        let parameters: [String: String]
    }

    /// Verifies the request and returns its app, body and parameters. `appID` is the URL's app id (nil for the unprefixed
    /// `/users/{id}/terminate_connections` path pusher-http-python uses: the app then comes from `auth_key`).
    func authenticate(_ request: Request, appID: String?) async throws -> Verified {
        let body = Array(buffer: try await request.body.collect(upTo: maxBodyBytes))
        let (path, query) = try Self.split(request.head.path ?? "/")
        let signed = APIRequestSignature.Request(method: request.method.rawValue, path: path, query: query, body: body)
        guard let key = APIRequestSignature.authKey(of: signed) else { throw APIRefusal.unauthorized("missing auth_key") }
        let app: AppRuntime
        do {
            app = try registry.current.select(key: key, id: appID)
        } catch {
            throw APIRefusal.unauthorized(error.message)
        }
        do {
            try signature.verify(signed, app: app.app, now: Date())
        } catch {
            throw error.isMalformed ? APIRefusal.badRequest(error.description) : APIRefusal.unauthorized(error.description)
        }
        // Duplicates were refused by the verifier, so names are unique here.
        let parameters = Dictionary(query.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        return Verified(app: app, body: body, parameters: parameters)
    }

    /// The raw path (as signed by the SDK) and the percent-decoded query pairs, duplicates kept for the verifier.
    static func split(_ target: String) throws -> (String, [(name: String, value: String)]) {
        guard let (path, query) = FormEncoding.splitTarget(target) else {
            throw ServerError.malformedRequest("invalid percent-encoding or UTF-8 in the query")
        }
        return (path, query)
    }
}

/// An HTTP API refusal: 400 or 401 with a message naming what was wrong.
struct APIRefusal: Error {
    let status: HTTPResponse.Status
    let message: String

    static func unauthorized(_ message: String) -> APIRefusal { APIRefusal(status: .unauthorized, message: message) }
    static func badRequest(_ message: String) -> APIRefusal { APIRefusal(status: .badRequest, message: message) }
}
