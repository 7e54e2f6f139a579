import Hummingbird
import Logging
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

/// An error as the client sees it: status, extra headers and the JSON body.
struct ErrorAnswer {
    var status: HTTPResponse.Status
    var headers: HTTPFields = [:]
    var body: String

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.headers = headers
        self.body = #"{"error":"# + JSON.quoted(message) + "}"
    }

    init(status: HTTPResponse.Status, body: String) {
        self.status = status
        self.body = body
    }

    /// The one mapping from thrown errors to answers; unexpected errors are logged by type and become a bare 500.
    init(for error: any Error, logger: Logger) {
        switch error {
        case let error as ServerError:
            self.init(error.status, error.message, headers: error.code == .missingIdentity ? [.wwwAuthenticate: "Bearer"] : [:])
        case let error as CoreError:
            self.init(error.status, error.message)
        case let error as PostgresStoreError:
            // Unavailable is transient (the database restarts, or is unreachable): 503 tells callers to retry.
            self.init(error == .unavailable ? .serviceUnavailable : .internalServerError, error.description)
        case let refusal as APIRefusal:
            self.init(refusal.status, refusal.message)
        case let refusal as RelayRefusal:
            // The relay forwards `code` to its client in pusher:subscription_error (PUSHER-PROTOCOL.md §9).
            self.init(status: refusal.status, body: #"{"error":"# + JSON.quoted(refusal.message) + #","code":"# + String(refusal.code) + "}")
        case is RelayTokenRefusal:
            self = RelayTokenRefusal.answer
        case is NIOTooManyBytesError:
            self.init(.contentTooLarge, "request body too large")
        case let error as HTTPError:
            self.init(error.status, error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            self.init(error.status, error.status.reasonPhrase)
        default:
            logger.error("unexpected error", metadata: ["usher.error": "\(String(reflecting: type(of: error)))"])
            self.init(.internalServerError, "internal error")
        }
    }

    var response: Response {
        var response = Response.json(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

/// Turns every error thrown below it into the JSON error shape (`ErrorAnswer`).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ErrorAnswer(for: error, logger: context.logger).response
        }
    }

    static func response(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        ErrorAnswer(status, message, headers: headers).response
    }
}
