@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer
@_spi(Fuzzing) import UsherStore

/// What the relay API harnesses share: turning fuzzed JSON into calls a relay could really make.
///
/// In a call's JSON (a single body, or each op of a batch), `"auth":true` is replaced by the correct auth string for
/// the object's `socket_id`, `channel` and `channel_data` (or `user_data`) with its app's secret, and
/// `"token":{"sub":…,"info":…}` by a channel token the fixture issues for that channel and socket; so the fuzzer
/// reaches what lies behind the signature checks. Anything else is sent as it is.
enum RelayCalls {
    static let nodes = ["node-a", "node-b", "node-a/x", "."]

    /// The secret of an app id (app `fuzz`'s for any other id).
    static func secret(app: String?) -> (key: String, secret: String) {
        app == ServerFuzzing.Fixture.devAppID
            ? (ServerFuzzing.Fixture.devAppKey, ServerFuzzing.Fixture.devAppSecret) : (ServerFuzzing.Fixture.appKey, ServerFuzzing.Fixture.appSecret)
    }

    /// `fields` with `auth: true` and `token: {…}` replaced.
    static func signed(_ fields: [String: JSONValue], app: String?) -> [String: JSONValue] {
        var fields = fields
        let socket = fields["socket_id"]?.stringValue ?? ""
        let channel = fields["channel"]?.stringValue ?? ""
        if fields["auth"] == .bool(true) {
            let (key, secret) = secret(app: app)
            let message = if channel.hasPrefix("#server-to-user-") {
                "\(socket)::user::\(fields["user_data"]?.stringValue ?? "")"
            } else {
                "\(socket):\(channel)" + (channel.hasPrefix("presence-") ? ":\(fields["channel_data"]?.stringValue ?? "")" : "")
            }
            fields["auth"] = .string(key + ":" + HMACKey(secret: secret).hexMAC(message))
        }
        if case .object(let claims)? = fields["token"], let sub = claims["sub"]?.stringValue {
            let info = claims["info"].flatMap { $0 == .null ? nil : $0 }
            fields["token"] = fixture.issueChannelToken(userID: sub, userInfo: info, channel: channel, socketID: socket).map(JSONValue.string)
        }
        return fields
    }

    /// A batch body with its ops signed (each with its own `app`); other bodies as they are.
    static func signedBatch(_ body: [UInt8]) -> [UInt8] {
        guard case .object(var root)? = try? JSONValue.parse(bytes: body), case .array(let ops)? = root["ops"] else { return body }
        root["ops"] = .array(ops.map { op in
            guard case .object(let fields) = op else { return op }
            return .object(signed(fields, app: fields["app"]?.stringValue))
        })
        return Array(JSONValue.object(root).jsonText.utf8)
    }

    /// A single call's body, signed for `app`.
    static func signedSingle(_ body: [UInt8], app: String) -> [UInt8] {
        guard case .object(let fields)? = try? JSONValue.parse(bytes: body) else { return body }
        return Array(JSONValue.object(signed(fields, app: app)).jsonText.utf8)
    }

    /// Checks one presence answer (`{"presence":{ids,hash,count},"member_added":…}`, with `status` in a batch).
    static func checkJoin(_ answer: [String: JSONValue], presence: Bool, text: String) {
        guard presence else { return }
        guard case .bool? = answer["member_added"] else { fail("a presence join without member_added: \(text)") }
        guard let listing = answer["presence"] else { return }
        guard case .array(let ids)? = listing["ids"], case .object(let hash)? = listing["hash"], case .integer(let count)? = listing["count"] else {
            fail("a presence listing without ids, hash and count: \(text)")
        }
        let idStrings = ids.compactMap(\.stringValue)
        check(idStrings.count == ids.count && Set(idStrings).count == ids.count, "presence ids are not distinct strings: \(text)")
        check(Int(count) == ids.count && Set(hash.keys) == Set(idStrings), "presence count, ids and hash disagree: \(text)")
        check(ids.count <= max(ServerFuzzing.Fixture.limits.maxMembers, PresenceLimits().maxMembers), "more members than any limit: \(text)")
    }
}

/// The relay API's subscribe and batch calls as the fast path answers them (`RelayFastPath.start`, applied at once on
/// the memory store), several in turn on one fresh `MemoryPresenceStore`.
///
/// Input: lines, each a call: its first byte picks the call (a single subscribe for app `fuzz`, `dev` or an unknown
/// app, or a batch on one of a few node ids), the rest is its JSON body (see `RelayCalls` for `auth: true`).
/// Properties: no call answers 500 or non-JSON; a refusal carries an error (and for 403/409 a Pusher code); a
/// presence join answers member_added and a consistent member listing within the limits; a batch answers one result
/// with a status per op; every event logged is well formed.
enum RelayAPITarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        let store = MemoryPresenceStore(now: { 1_000 })
        for line in lines(data).prefix(16) where !line.isEmpty {
            let selector = line[line.startIndex]
            let body = Array(line.dropFirst())
            if selector & 1 == 0 {
                let app = [ServerFuzzing.Fixture.appID, ServerFuzzing.Fixture.devAppID, "nope"][Int(selector >> 1) % 3]
                let signed = RelayCalls.signedSingle(body, app: app)
                let answer = fixture.relaySubscribe(app: app, body: signed, store: store)
                checkSingle(answer, body: signed)
            } else {
                let signed = RelayCalls.signedBatch(body)
                let answer = fixture.relayBatch(node: RelayCalls.nodes[Int(selector >> 1) % RelayCalls.nodes.count], body: signed, store: store)
                checkBatch(answer, body: signed)
            }
        }
        guard case .events(let events) = store.log.events(after: 0, limit: .max) else { fail("the event log has a gap") }
        for event in events {
            check(jsonObject(event.data)?["app"] == .string(event.app), "an event's data does not name its app: \(event.data)")
        }
    }

    static func checkSingle(_ answer: ServerFuzzing.Answer, body: [UInt8]) {
        check(answer.status != 500, "a subscribe answered 500: \(answer.body)")
        guard let object = jsonObject(answer.body) else { fail("a subscribe answered no JSON object: \(answer.body)") }
        guard answer.status == 200 else { return checkRefusal(object, status: answer.status, text: answer.body) }
        let channel = (try? JSONValue.parse(bytes: body))?["channel"]?.stringValue ?? ""
        RelayCalls.checkJoin(object, presence: channel.hasPrefix("presence-"), text: answer.body)
    }

    static func checkBatch(_ answer: ServerFuzzing.Answer, body: [UInt8]) {
        check(answer.status != 500, "a batch answered 500: \(answer.body)")
        guard let object = jsonObject(answer.body) else { fail("a batch answered no JSON object: \(answer.body)") }
        guard answer.status == 200 else { return checkRefusal(object, status: answer.status, text: answer.body) }
        guard case .array(let ops)? = (try? JSONValue.parse(bytes: body))?["ops"], case .array(let results)? = object["results"] else {
            fail("a batch answered 200 without results for its ops: \(answer.body)")
        }
        check(results.count == ops.count, "\(results.count) results for \(ops.count) ops: \(answer.body)")
        for (op, result) in zip(ops, results) {
            guard case .object(let fields) = result, case .integer(let status)? = fields["status"] else { fail("a result without status: \(answer.body)") }
            check(status != 500, "an op answered 500: \(answer.body)")
            if status == 200 {
                let isJoin = op["op"] == .string("join")
                let presence = isJoin && op["channel"]?.stringValue?.hasPrefix("presence-") == true && op["presence"] != .bool(false)
                if isJoin && op["channel"]?.stringValue?.hasPrefix("presence-") == true {
                    check(fields["member_added"] != nil, "a presence join's result without member_added: \(answer.body)")
                }
                RelayCalls.checkJoin(fields, presence: presence, text: answer.body)
            } else {
                checkRefusal(fields, status: Int(status), text: answer.body)
            }
        }
    }

    static func checkRefusal(_ object: [String: JSONValue], status: Int, text: String) {
        check(object["error"]?.stringValue != nil, "a refusal without an error: \(text)")
        if status == 403 || status == 409 {
            guard case .integer(let code)? = object["code"] else { fail("a \(status) without a Pusher code: \(text)") }
            check([4009, 4100, 4301].contains(code), "unknown refusal code \(code): \(text)")
        }
    }
}

/// Differential: the relay API's single subscribe call and a batch of one join op with the same fields, each on its
/// own fresh memory store, must agree.
///
/// Input: byte 0 picks the app (`fuzz`, `dev`, unknown); then lines: all but the last are setup batches applied
/// identically to both stores (node `node-a`); the last is the join's fields (`auth: true` and `token` as in
/// `RelayCalls`; `node`, `op`, `app` and `presence` are set by the harness). Properties: the same status and refusal
/// code; for a join, the same member listing and member_added; the same events logged.
enum RelayDiffTarget {
    static let node = "node-a"

    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = FuzzReader(data)
        let app = [ServerFuzzing.Fixture.appID, ServerFuzzing.Fixture.devAppID, "nope"][Int(reader.byte()) % 3]
        let parts = lines(reader.rest)
        guard let last = parts.last, case .object(var fields)? = try? JSONValue.parse(bytes: Array(last)) else { return }
        let single = MemoryPresenceStore(now: { 1_000 })
        let batched = MemoryPresenceStore(now: { 1_000 })
        for setup in parts.dropLast().prefix(8) {
            let body = RelayCalls.signedBatch(Array(setup))
            let first = fixture.relayBatch(node: node, body: body, store: single)
            let second = fixture.relayBatch(node: node, body: body, store: batched)
            check(first == second, "the same setup batch answered differently on two fresh stores: \(first.body) vs \(second.body)")
        }
        let before = single.log.latest
        check(before == batched.log.latest, "the setup logged different event counts")

        fields = RelayCalls.signed(fields, app: app)
        fields["presence"] = nil
        var body = fields
        body["node"] = .string(node)
        let singleAnswer = fixture.relaySubscribe(app: app, body: Array(JSONValue.object(body).jsonText.utf8), store: single)
        var op = fields
        op["op"] = .string("join")
        op["app"] = .string(app)
        let batch = JSONValue.object(["ops": .array([.object(op)])]).jsonText
        let batchAnswer = fixture.relayBatch(node: node, body: Array(batch.utf8), store: batched)

        let context = "single \(singleAnswer.status) \(singleAnswer.body) vs batch \(batchAnswer.status) \(batchAnswer.body) for \(batch)"
        guard var singleResult = jsonObject(singleAnswer.body) else { fail("the single call answered no JSON: \(context)") }
        guard batchAnswer.status == 200 else {
            check(batchAnswer.status == singleAnswer.status, "statuses differ: \(context)")
            return
        }
        guard case .array(let results)? = jsonObject(batchAnswer.body)?["results"], results.count == 1, case .object(var batchResult) = results[0],
            case .integer(let status)? = batchResult["status"]
        else { fail("the batch did not answer one result: \(context)") }
        check(Int(status) == singleAnswer.status, "statuses differ: \(context)")
        check(batchResult["code"] == singleResult["code"], "refusal codes differ: \(context)")
        if status == 200 {
            batchResult["status"] = nil
            singleResult["status"] = nil
            check(batchResult == singleResult, "answers differ: \(context)")
        }
        guard case .events(let singleEvents) = single.log.events(after: before, limit: .max),
            case .events(let batchEvents) = batched.log.events(after: before, limit: .max)
        else { fail("an event log has a gap") }
        check(singleEvents == batchEvents, "events differ: \(singleEvents.map(\.data)) vs \(batchEvents.map(\.data)); \(context)")
    }
}
