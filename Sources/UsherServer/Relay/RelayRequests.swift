import Foundation
import Hummingbird
import UsherCore
import UsherCrypto

/// The fields of one relay-API object (a single call's JSON body, or one op of a batch), read with errors that name
/// the field (`missing field ops[3].socket_id`) and never echo values.
struct RelayFields {
    /// The object's members, each looked up once or twice: a list, not a dictionary.
    private let fields: JSONMembers
    /// Where the object is in the request: nil for a body, `("ops", 3)` for a batch op.
    private let position: (list: String, index: Int)?

    /// - Parameter position: The array and index the object is at (a batch's `ops`), nil for a body.
    init(_ value: JSONValue, at position: (list: String, index: Int)? = nil) throws(ServerError) {
        guard case .object(let fields) = value else { throw Self.notAnObject(at: position) }
        self.init(members: JSONMembers(fields), position: position)
    }

    /// The fields of an object read member by member (nil: the element was not an object).
    init(_ members: JSONMembers?, at position: (list: String, index: Int)? = nil) throws(ServerError) {
        guard let members else { throw Self.notAnObject(at: position) }
        self.init(members: members, position: position)
    }

    private init(members: JSONMembers, position: (list: String, index: Int)?) {
        self.fields = members
        self.position = position
    }

    private static func notAnObject(at position: (list: String, index: Int)?) -> ServerError {
        .malformedRequest(position.map { "\($0.list)[\($0.index)] is not an object" } ?? "the body must be a JSON object")
    }

    /// The prefix errors name fields with: "" for a body, `ops[3].` for a batch op (made only for an error).
    private var path: String {
        position.map { "\($0.list)[\($0.index)]." } ?? ""
    }

    /// Parses a JSON body of at most `limit` bytes.
    init(body request: Request, limit: Int) async throws {
        let buffer = try await request.body.collect(upTo: limit)
        self = try buffer.withUnsafeReadableBytes { try RelayFields(json: $0) }
    }

    /// Parses a JSON body.
    init(json bytes: UnsafeRawBufferPointer) throws(ServerError) {
        let members: JSONMembers?
        do {
            members = try JSONValue.parseMembers(buffer: bytes)
        } catch {
            throw .malformedRequest("invalid JSON body")
        }
        try self.init(members)
    }

    func string(_ name: String) throws(ServerError) -> String {
        guard let text = try optional(name) else { throw .malformedRequest("missing field \(path)\(name)") }
        return text
    }

    func optional(_ name: String) throws(ServerError) -> String? {
        switch fields[asciiName: name] {
        case nil, .null?: nil
        case .string(let text)?: text
        default: throw .malformedRequest("wrong type at \(path)\(name)")
        }
    }

    /// A required array of strings.
    func strings(_ name: String) throws(ServerError) -> [String] {
        guard case .array(let items)? = fields[asciiName: name] else { throw .malformedRequest("missing field \(path)\(name)") }
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else { throw .malformedRequest("wrong type at \(path)\(name)") }
            strings.append(text)
        }
        return strings
    }

    /// An optional object whose values are integers in `range`, e.g. `{"3":12,"7":0}`; at most `maxMembers` members.
    func counts(_ name: String, in range: ClosedRange<Int64>, maxMembers: Int) throws(ServerError) -> [String: Int]? {
        switch fields[asciiName: name] {
        case nil, .null?: return nil
        case .object(let members)? where members.count <= maxMembers:
            var counts: [String: Int] = [:]
            for (key, value) in members {
                guard case .integer(let count) = value, range.contains(count) else { throw .malformedRequest("wrong type at \(path)\(name)") }
                counts[key] = Int(count)
            }
            return counts
        default: throw .malformedRequest("wrong type at \(path)\(name)")
        }
    }

    func bool(_ name: String, default value: Bool) throws(ServerError) -> Bool {
        switch fields[asciiName: name] {
        case nil, .null?: value
        case .bool(let flag)?: flag
        default: throw .malformedRequest("wrong type at \(path)\(name)")
        }
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
