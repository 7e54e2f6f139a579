import Foundation
import Hummingbird
import UsherCore

/// Bodies of the relay API (DESIGN.md, Relay contract).
struct SubscribeRequest: Decodable {
    let node: String
    let socketID: String
    let channel: String
    let auth: String?
    let channelData: String?
    /// For `#server-to-user-` channels: the signed-in user's user_data, whose sign-in auth is `auth`.
    let userData: String?
    /// A channel token from `POST /v1/tokens`, instead of `auth`.
    let token: String?

    enum CodingKeys: String, CodingKey {
        case node, channel, auth, token
        case socketID = "socket_id"
        case channelData = "channel_data"
        case userData = "user_data"
    }
}

struct UnsubscribeRequest: Decodable {
    let node: String?
    let socketID: String
    let channel: String

    enum CodingKeys: String, CodingKey {
        case node, channel
        case socketID = "socket_id"
    }
}

struct SnapshotRequest: Decodable {
    struct Entry: Decodable {
        let app: String
        let socketID: String
        let channel: String
        let channelData: String?

        enum CodingKeys: String, CodingKey {
            case app, channel
            case socketID = "socket_id"
            case channelData = "channel_data"
        }
    }

    let subscriptions: [Entry]
}

extension Request {
    /// Decodes a JSON body of at most `limit` bytes; malformed JSON is a 400 naming the problem.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await body.collect(upTo: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw ServerError.malformedRequest("invalid JSON body: \(DecodingErrorText.describe(error))")
        }
    }
}

/// Short descriptions of decoding errors (field path and problem; never the values).
enum DecodingErrorText {
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \((path(context).isEmpty ? "" : path(context) + ".") + key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context))"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "not JSON" : "invalid value at \(path(context))"
        @unknown default: return "invalid"
        }
    }
}
