import Foundation
@_spi(Fuzzing) import UsherCore
@_spi(Fuzzing) import UsherCrypto
@_spi(Fuzzing) import UsherServer

/// The strict JSON reader (`JSONValue.parse`, read in place from libFuzzer's buffer) and what is built on it:
/// presence `channel_data` (`ChannelData.parse`, and `ChannelData.member`, which keeps a compact user_info as sent) and sign-in `user_data` (`UserData.make`, and the `id` the relay
/// API and the relay read back).
///
/// Properties: a parsed value's compact text parses to the same value and is a fixed point; the String and byte
/// entry points agree; channel_data that parses rebuilds (`ChannelData.make`) to text that parses to the same member,
/// under the default limits and app `fuzz`'s small ones; user_data built from a parsed object reads back its id,
/// user_info and watchlist; the member-wise readers (`parseMembers`, and `parseFields`/`forEachElement(ofArray:in:table:_:)`
/// behind relay bodies and batches) refuse what `parse` refuses and read the same members.
enum JSONTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        let value = try? JSONValue.parse(buffer: data)
        checkMemberReaders(data, value: value)
        if let text = String(validating: data, as: UTF8.self) {
            let fromString = try? JSONValue.parse(text)
            check(fromString == value, "parse(String) and parse(buffer:) disagree on \(show(data))")
            checkChannelData(text)
        }
        guard let value else { return }
        let compact = value.jsonText
        guard let again = try? JSONValue.parse(compact) else { fail("compact text does not parse: \(compact)") }
        check(again == value, "compact text parses to another value: \(compact)")
        check((try? JSONValue.parse(again.jsonText)) == again, "compact text does not settle after one round: \(compact)")
        checkUserData(value)
    }

    private static func checkMemberReaders(_ data: UnsafeRawBufferPointer, value: JSONValue?) {
        // nil: refused; .some(nil): JSON but not an object.
        let members: JSONMembers??
        do {
            members = .some(try JSONValue.parseMembers(buffer: data))
        } catch {
            members = nil
        }
        check((members == nil) == (value == nil), "parseMembers and parse disagree on whether \(show(data)) is JSON")
        if case .object(let object)? = value {
            let read = members.flatMap { $0 }
            check(read?.count == object.count && read?.members.allSatisfy({ object[$0.name] == $0.value }) == true,
                  "parseMembers reads other members than parse in \(show(data))")
        } else if let members {
            check(members == nil, "parseMembers reads an object where parse does not in \(show(data))")
        }
        let fields: JSONFields??
        do {
            fields = .some(try JSONValue.parseFields(buffer: data, table: table))
        } catch {
            fields = nil
        }
        check((fields == nil) == (value == nil), "parseFields and parse disagree on whether \(show(data)) is JSON")
        if case .object(let object)? = value {
            check(fields.flatMap { $0 }.map(tree) == listed(object), "parseFields reads other members than parse in \(show(data))")
        } else if let fields {
            check(fields == nil, "parseFields reads an object where parse does not in \(show(data))")
        }
        var elements: [JSONValue?] = []
        let isArray: Bool? = try? JSONValue.forEachElement(ofArray: "ops", in: data, table: table) { _, fields in
            elements.append(fields.map(tree))
        }
        check((isArray == nil) == (value == nil), "forEachElement and parse disagree on whether \(show(data)) is JSON")
        if case .array(let items)? = value?["ops"] {
            check(isArray == true && elements.count == items.count, "forEachElement reads other ops than parse in \(show(data))")
            for (item, element) in zip(items, elements) {
                if case .object(let object) = item { check(element == listed(object), "forEachElement reads an op differently in \(show(data))") }
                else { check(element == nil, "forEachElement reads a non-object op as an object in \(show(data))") }
            }
        } else if value != nil {
            check(isArray == false, "forEachElement finds ops that parse does not in \(show(data))")
        }
    }

    /// The names the field readers look for: a relay op's, and short ones random input hits.
    private static let names = ["op", "app", "socket_id", "channel", "auth", "channel_data", "a", "b", ""]
    private static let table = JSONFieldTable(names)

    /// What the field reader read, as the tree `parse` makes of those members.
    private static func tree(_ fields: JSONFields) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for (slot, name) in names.enumerated() {
            switch fields[slot: slot] {
            case nil: break
            case .string?: object[name] = fields.string(at: slot).map { .string($0 ?? "") }
            case .value(let value)?: object[name] = value
            }
        }
        return .object(object)
    }

    /// The members of a parsed object the table lists.
    private static func listed(_ object: [String: JSONValue]) -> JSONValue {
        .object(object.filter { names.contains($0.key) })
    }

    private static func checkChannelData(_ text: String) {
        for limits in [PresenceLimits(), ServerFuzzing.Fixture.limits] {
            // The member a relay join keeps (its user_info text taken as sent when already compact) is the parsed one.
            let kept = try? ChannelData.member(text, limits: limits)
            let parsed = try? ChannelData.parse(text, limits: limits)
            check((kept == nil) == (parsed == nil), "ChannelData.member and parse disagree on accepting \(text.debugDescription)")
            check(kept?.userID == parsed?.userID && kept?.userInfoJSON == parsed?.userInfo?.jsonText,
                  "ChannelData.member keeps other user_info text than parse makes: \(text.debugDescription)")
            guard let member = parsed else { continue }
            let made: String
            do {
                made = try ChannelData.make(userID: member.userID, userInfo: member.userInfo, limits: limits)
            } catch {
                fail("channel_data that parsed cannot be rebuilt (\(error)): \(text)")
            }
            guard let back = try? ChannelData.parse(made, limits: limits) else { fail("rebuilt channel_data does not parse: \(made)") }
            check(back.userID == member.userID && back.userInfo == member.userInfo, "rebuilt channel_data reads differently: \(made)")
        }
    }

    private static func checkUserData(_ value: JSONValue) {
        guard case .object(let members) = value, case .string(let id)? = members["id"] else { return }
        let info = members["user_info"].flatMap { $0 == .null ? nil : $0 }
        let watchlist: [String]? = if case .array(let items)? = members["watchlist"] { items.compactMap(\.stringValue) } else { nil }
        guard let text = try? UserData.make(userID: id, userInfo: info, watchlist: watchlist) else { return }
        guard case .object(let back)? = try? JSONValue.parse(text) else { fail("user_data does not parse: \(text)") }
        check(back["id"]?.stringValue == id, "user_data's id reads back differently: \(text)")
        check(back["user_info"] == info, "user_data's user_info reads back differently: \(text)")
        check(back["watchlist"] == watchlist.map { JSONValue.array($0.map(JSONValue.string)) }, "user_data's watchlist reads back differently: \(text)")
    }
}
