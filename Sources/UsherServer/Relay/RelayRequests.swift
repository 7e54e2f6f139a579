import Foundation
import Hummingbird
import UsherCore
import UsherCrypto

/// The member names the relay API reads (each read through ``RelayFields``).
enum RelayField: Int, CaseIterable {
    case op, app, node, socketID, channel, auth, channelData, userData, token, presence
    case userIDs, forwardURL, connections, kind, event, data, userID

    /// The JSON member name.
    var name: String {
        switch self {
        case .op: "op"
        case .app: "app"
        case .node: "node"
        case .socketID: "socket_id"
        case .channel: "channel"
        case .auth: "auth"
        case .channelData: "channel_data"
        case .userData: "user_data"
        case .token: "token"
        case .presence: "presence"
        case .userIDs: "user_ids"
        case .forwardURL: "forward_url"
        case .connections: "connections"
        case .kind: "kind"
        case .event: "event"
        case .data: "data"
        case .userID: "user_id"
        }
    }

    /// Every name, in slot order (a field's slot is its raw value).
    static let table = JSONFieldTable(allCases.map(\.name))
}

/// The fields of one relay-API object (a single call's JSON body, or one op of a batch), read with errors that name
/// the field (`missing field ops[3].socket_id`) and never echo values.
///
/// Read for the names the relay API uses (``RelayField``): string values are kept as their bytes, one buffer for
/// the object, so a join's auth string and channel_data are checked without a `String` of their own.
struct RelayFields {
    private let fields: JSONFields
    /// Where the object is in the request: nil for a body, `("ops", 3)` for a batch op.
    private let position: (list: String, index: Int)?

    /// - Parameter position: The array and index the object is at (a batch's `ops`), nil for a body.
    init(_ value: JSONValue, at position: (list: String, index: Int)? = nil) throws(ServerError) {
        guard case .object(let members) = value else { throw Self.notAnObject(at: position) }
        self.init(fields: JSONFields(members, table: RelayField.table), position: position)
    }

    /// The fields of an object read field by field (nil: the element was not an object).
    init(_ fields: JSONFields?, at position: (list: String, index: Int)? = nil) throws(ServerError) {
        guard let fields else { throw Self.notAnObject(at: position) }
        self.init(fields: fields, position: position)
    }

    private init(fields: JSONFields, position: (list: String, index: Int)?) {
        self.fields = fields
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
        let fields: JSONFields?
        do {
            fields = try JSONValue.parseFields(buffer: bytes, table: RelayField.table)
        } catch {
            throw .malformedRequest("invalid JSON body")
        }
        try self.init(fields)
    }

    func string(_ field: RelayField) throws(ServerError) -> String {
        guard let text = try optional(field) else { throw .malformedRequest("missing field \(path)\(field.name)") }
        return text
    }

    func optional(_ field: RelayField) throws(ServerError) -> String? {
        switch fields[slot: field.rawValue] {
        case nil, .value(.null)?: return nil
        case .string?: return fields.string(at: field.rawValue) ?? nil
        default: throw .malformedRequest("wrong type at \(path)\(field.name)")
        }
    }

    /// An optional string field's UTF-8 bytes, without a `String`: a range in `bytes` of ``withBytes(_:)``.
    func optionalBytes(_ field: RelayField) throws(ServerError) -> Range<Int>? {
        switch fields[slot: field.rawValue] {
        case nil, .value(.null)?: nil
        case .string(let range)?: range
        default: throw .malformedRequest("wrong type at \(path)\(field.name)")
        }
    }

    /// Lends the bytes of every string field (the ranges ``optionalBytes(_:)`` answers are in them).
    func withBytes<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try fields.bytes.withUnsafeBufferPointer { bytes throws(E) in try body(bytes) }
    }

    /// A required array of strings.
    func strings(_ field: RelayField) throws(ServerError) -> [String] {
        guard case .value(.array(let items))? = fields[slot: field.rawValue] else { throw .malformedRequest("missing field \(path)\(field.name)") }
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else { throw .malformedRequest("wrong type at \(path)\(field.name)") }
            strings.append(text)
        }
        return strings
    }

    /// An optional object whose values are integers in `range`, e.g. `{"3":12,"7":0}`; at most `maxMembers` members.
    func counts(_ field: RelayField, in range: ClosedRange<Int64>, maxMembers: Int) throws(ServerError) -> [String: Int]? {
        switch fields[slot: field.rawValue] {
        case nil, .value(.null)?: return nil
        case .value(.object(let members))? where members.count <= maxMembers:
            var counts: [String: Int] = [:]
            for (key, value) in members {
                guard case .integer(let count) = value, range.contains(count) else { throw .malformedRequest("wrong type at \(path)\(field.name)") }
                counts[key] = Int(count)
            }
            return counts
        default: throw .malformedRequest("wrong type at \(path)\(field.name)")
        }
    }

    func bool(_ field: RelayField, default value: Bool) throws(ServerError) -> Bool {
        switch fields[slot: field.rawValue] {
        case nil, .value(.null)?: value
        case .value(.bool(let flag))?: flag
        default: throw .malformedRequest("wrong type at \(path)\(field.name)")
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
