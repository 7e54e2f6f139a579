import Foundation
import Hummingbird
import Logging
import NIOCore
import UsherCore
import UsherCrypto

/// `POST /relay/v1/nodes/{node}/batch` (DESIGN.md, Relay contract): many joins, leaves and disconnects of one node in
/// one request, for reconnect storms and busy nodes.
///
/// Ops are checked one by one (a malformed or refused op answers its own error and the others go on), then every
/// valid op goes to the store in one submission, so they are applied in order within one group commit, after a
/// renewal of the node's lease. Each op's result is what the single call would have answered, with its status:
/// `{"status":200,…}` or `{"status":403,"error":…,"code":4009}`.
extension RelayController {
    /// Ops in one batch, at most.
    static let maxBatchOps = 1000
    /// A batch body's size, at most.
    static let maxBatchBytes = 1 << 20

    func batch(_ request: Request, context: some RequestContext) async throws -> Response {
        let node = try NodeID(validating: try context.parameters.require("node"))
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBatchBytes)
        } catch is NIOTooManyBytesError {
            throw HTTPError(.contentTooLarge, message: "batch body over \(Self.maxBatchBytes) bytes")
        }
        let plan = try body.withUnsafeReadableBytes { try BatchPlan(relay: self, node: node, body: $0, logger: context.logger) }
        var out = OutgoingText(buffer: ByteBuffer())
        plan.answer(try await store.apply(plan.writes), logger: context.logger, to: &out)
        return .json(out.buffer)
    }

    /// Checks a batch call of `node` carrying `body` (`FastCall`).
    func batchCall(node: String, body: [UInt8], logger: Logger) throws -> FastCall {
        let node = try NodeID(validating: node)
        return .batch(try body.withUnsafeBytes { try BatchPlan(relay: self, node: node, body: $0, logger: logger) })
    }

    /// A batch's ops checked one by one: the writes for the store (the node's lease renewal first) and, for every
    /// op, where its result will be or the error it answers.
    struct BatchPlan {
        private(set) var writes: [PresenceWrite]
        private var planned: [Planned] = []

        /// Each op is checked as the body is read (no tree of the whole body); the plan is used only once the whole
        /// body has been read as valid JSON.
        ///
        /// - Throws: 400 when the body is not `{"ops":[…]}`, 413 over `maxBatchOps` ops; nothing is applied then.
        init(relay: RelayController, node: NodeID, body: UnsafeRawBufferPointer, logger: Logger) throws {
            let apps = relay.registry.current
            writes = [.renew(node)]
            // One instant for the whole batch, and one verifier per app (its secrets at that instant).
            var checks = Checks(now: Date())
            let isBatch: Bool
            do {
                isBatch = try JSONValue.forEachElement(ofArray: "ops", in: body, table: RelayField.table) { index, op in
                    guard index < RelayController.maxBatchOps else { throw TooManyOps() }
                    do {
                        let fields = try RelayFields(op, at: ("ops", index))
                        let write = try relay.write(for: fields, index: index, node: node, apps: apps, checks: &checks)
                        planned.append(.write(writes.count, isPresence: write.isPresenceJoin))
                        writes.append(write)
                    } catch {
                        planned.append(.failed(ErrorAnswer(for: error, logger: logger)))
                    }
                }
            } catch is TooManyOps {
                throw HTTPError(.contentTooLarge, message: "batch of more than \(RelayController.maxBatchOps) ops; at most \(RelayController.maxBatchOps)")
            } catch {
                isBatch = false
            }
            guard isBatch else { throw ServerError.malformedRequest(#"batch body must be a JSON object {"ops":[…]}"#) }
        }

        /// Thrown out of the reader at the op past `maxBatchOps`.
        private struct TooManyOps: Error {}

        /// Writes the batch's answer, `{"results":[…]}`, from the store's results for `writes`: its size is reserved
        /// first, so the member lists are copied once and the buffer never regrows.
        func answer(_ results: [PresenceWriteResult], logger: Logger, to out: inout OutgoingText) {
            var size = 16
            for plan in planned {
                switch plan {
                case .failed(let answer): size += answer.body.utf8.count + 16
                case .write(let position, _): size += RelayController.answerByteCount(results[position].join)
                }
            }
            out.buffer.reserveCapacity(minimumWritableBytes: size)
            out.buffer.writeStaticString(#"{"results":["#)
            for (index, plan) in planned.enumerated() {
                if index > 0 { out.buffer.writeStaticString(",") }
                switch plan {
                case .failed(let answer):
                    out.buffer.writeString(RelayController.result(answer))
                case .write(let position, let isPresence):
                    do {
                        try RelayController.writeAnswer(results[position].join, isPresence: isPresence, withStatus: true, to: &out)
                    } catch {
                        out.buffer.writeString(RelayController.result(ErrorAnswer(for: error, logger: logger)))
                    }
                }
            }
            out.buffer.writeStaticString("]}")
        }
    }

    /// What one op turned into: a write at its position in the submission, or the error it answers.
    fileprivate enum Planned {
        case write(Int, isPresence: Bool)
        case failed(ErrorAnswer)
    }

    /// An error answer as a batch result: the single call's body with its status first.
    fileprivate static func result(_ answer: ErrorAnswer) -> String {
        #"{"status":"# + String(answer.status.code) + "," + answer.body.dropFirst()
    }

    /// The subscription checks of one batch: its instant, and the check of the app its last join named.
    fileprivate struct Checks {
        let now: Date
        private var last: SubscriptionCheck?

        init(now: Date) {
            self.now = now
        }

        mutating func check(for app: AppRuntime) -> SubscriptionCheck {
            if let last, last.app === app { return last }
            let check = SubscriptionCheck(app: app, now: now, verifier: app.app.verifier(at: now))
            last = check
            return check
        }
    }

    fileprivate func write(for fields: RelayFields, index: Int, node: NodeID, apps: AppRegistry, checks: inout Checks) throws -> PresenceWrite {
        let kind = try fields.string(.op)
        let app = try apps.select(key: nil, id: try fields.string(.app))
        switch kind {
        case "join":
            return try join(
                app: app, node: node, fields: fields, wantsPresence: try fields.bool(.presence, default: true), check: checks.check(for: app))
        case "leave":
            return try leave(app: app, fields: fields)
        case "disconnect":
            return .disconnect(app: app.app.id, socketID: try SocketID(validating: try fields.string(.socketID)))
        default:
            throw ServerError.malformedRequest(#"ops[\#(index)].op must be "join", "leave" or "disconnect""#)
        }
    }
}
