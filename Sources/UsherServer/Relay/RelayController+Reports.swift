import Hummingbird
import NIOCore
import UsherCore
import UsherCrypto

extension RelayController {
    /// The most reports one request may carry.
    static let maxReports = 1000

    /// `POST /relay/v1/nodes/{node}/reports` `{"reports":[…]}`: what only relays see, for the apps' webhooks. Each
    /// report is `{"kind":"client_event", app, channel, event, data, socket_id, user_id?}` or
    /// `{"kind":"cache_miss", app, channel}`; reports of apps whose webhooks do not list their kind (or of unknown
    /// apps) are skipped, the rest are logged in order as one unit. Answers `{"logged":N}`.
    func reports(_ request: Request, context: some RequestContext) async throws -> Response {
        _ = try NodeID(validating: try context.parameters.require("node"))
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBatchBytes)
        } catch is NIOTooManyBytesError {
            throw HTTPError(.contentTooLarge, message: "reports body over \(Self.maxBatchBytes) bytes")
        }
        guard let json = try? JSONValue.parse(bytes: Array(buffer: body)), case .array(let items)? = json["reports"] else {
            throw ServerError.malformedRequest("the body must be {\"reports\":[…]}")
        }
        guard items.count <= Self.maxReports else {
            throw HTTPError(.contentTooLarge, message: "more than \(Self.maxReports) reports")
        }
        let apps = registry.current
        var events: [AppendedEvent] = []
        for (index, item) in items.enumerated() {
            let fields = try RelayFields(item, at: ("reports", index))
            guard let app = try? apps.select(key: nil, id: try fields.string(.app)) else { continue }
            let channel = try ChannelName(validating: try fields.string(.channel), maxLength: configuration.channelNameMaxLength)
            switch try fields.string(.kind) {
            case StreamEvent.Kind.clientEvent.rawValue:
                let event = try fields.string(.event)
                guard event.hasPrefix("client-") else { throw ServerError.malformedRequest("reports[\(index)].event is not a client event") }
                let socketID = try SocketID(validating: try fields.string(.socketID))
                guard app.features.reportsClientEvents else { continue }
                events.append(
                    AppendedEvent(
                        kind: .clientEvent, app: app.app.id, channel: channel.name, userID: try fields.optional(.userID),
                        extra: StreamEvent.clientEventExtra(event: event, data: try fields.string(.data), socketID: socketID.description)))
            case StreamEvent.Kind.cacheMiss.rawValue:
                guard app.features.reportsCacheMisses else { continue }
                events.append(AppendedEvent(kind: .cacheMiss, app: app.app.id, channel: channel.name))
            default:
                throw ServerError.malformedRequest("reports[\(index)].kind must be client_event or cache_miss")
            }
        }
        try await store.append(events)
        return .json(#"{"logged":"# + String(events.count) + "}")
    }
}
