import Hummingbird
import NIOCore
import UsherCore
import UsherCrypto
import UsherStorePostgres

/// The one place where errors become HTTP statuses. Every refusal body is `{"error":"<message>"}`; messages come
/// from the errors' client-safe texts and never echo tokens or secrets.
extension ServerError {
    var status: HTTPResponse.Status {
        switch code {
        case .malformedRequest: .badRequest
        case .unknownApp: .notFound
        case .missingIdentity, .invalidIdentity, .expiredIdentity: .unauthorized
        case .appExists: .conflict
        case .invalidConfiguration, .keyDirectory: .internalServerError
        }
    }
}

extension CoreError {
    var status: HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .forbidden: .forbidden
        }
    }
}

/// Turns every error thrown below it into the JSON error shape; unexpected errors are logged and become a bare 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServerError {
            return Self.response(error.status, error.message, headers: error.code == .missingIdentity ? [.wwwAuthenticate: "Bearer"] : [:])
        } catch let error as CoreError {
            return Self.response(error.status, error.message)
        } catch let error as PostgresStoreError {
            // Unavailable is transient (the database restarts, or is unreachable): 503 tells callers to retry.
            return Self.response(error == .unavailable ? .serviceUnavailable : .internalServerError, error.description)
        } catch let refusal as APIRefusal {
            return Self.response(refusal.status, refusal.message)
        } catch let refusal as RelayRefusal {
            // The relay forwards `code` to its client in pusher:subscription_error (PUSHER-PROTOCOL.md §9).
            return Response.json(#"{"error":"# + JSON.quoted(refusal.message) + #","code":"# + String(refusal.code) + "}", status: refusal.status)
        } catch is NIOTooManyBytesError {
            return Self.response(.contentTooLarge, "request body too large")
        } catch let error as HTTPError {
            return Self.response(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as any HTTPResponseError {
            return Self.response(error.status, error.status.reasonPhrase)
        } catch {
            context.logger.error("unexpected error", metadata: ["usher.error": "\(String(reflecting: type(of: error)))"])
            return Self.response(.internalServerError, "internal error")
        }
    }

    static func response(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var response = Response.json(#"{"error":"# + JSON.quoted(message) + "}", status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}
