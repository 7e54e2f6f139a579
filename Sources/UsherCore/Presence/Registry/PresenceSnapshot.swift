import UsherCrypto

/// The members of one presence channel, as sent in `pusher_internal:subscription_succeeded`.
///
/// Kept as the JSON text it is sent as: stores build it straight from what they hold (a member's stored user_info
/// text, in PostgreSQL) without a value per member in between. The text stays in the two parts a channel's listing
/// grows (shared, not copied), so an answer writes it once, straight into its own text (``write(to:)``).
public struct PresenceSnapshot: Sendable, Hashable {
    /// The number of members.
    public let count: Int
    /// The ids, JSON strings joined by commas.
    private let ids: String
    /// The hash's members, `"<id>":<user_info>` joined by commas.
    private let hash: String

    /// The presence object `{"ids":[…],"hash":{"<id>":<user_info>},"count":N}`, compact.
    ///
    /// Ids are JSON strings; a member without user_info maps to `{}`, as pusher-js expects a key per member.
    public var jsonText: String {
        var text = ""
        text.reserveCapacity(jsonByteCount)
        write(to: &text)
        return text
    }

    /// The length of ``jsonText`` in UTF-8 bytes, for sizing an answer before writing it.
    public var jsonByteCount: Int {
        ids.utf8.count + hash.utf8.count + 30 + String(count).utf8.count
    }

    /// Appends ``jsonText`` to `text` (a `String`, or an answer's outgoing buffer), with one copy of the members'
    /// bytes.
    public func write(to text: inout some TextOutput) {
        text.append(#"{"ids":["#)
        text.append(ids)
        text.append(#"],"hash":{"#)
        text.append(hash)
        text.append(#"},"count":"#)
        text.append(String(count))
        text.append("}")
    }

    /// The snapshot of `members`, each once, in the given order (no particular order is promised to clients).
    public init(members: [PresenceMember]) {
        self.init(entries: members.lazy.map { ($0.userID, $0.userInfoJSON) })
    }

    /// The snapshot of members given as user id and compact user_info JSON text (nil for none), each once.
    public init(entries: some Sequence<(userID: String, userInfoJSON: String?)>) {
        var listing = PresenceListing()
        for (userID, info) in entries { listing.append(userID: userID, userInfoJSON: info) }
        self = listing.snapshot
    }

    fileprivate init(count: Int, ids: String, hash: String) {
        self.count = count
        self.ids = ids
        self.hash = hash
    }
}

/// A presence object's text in two growing parts (the ids and the hash), so members can be appended cheaply: stores
/// keep one per channel while members only arrive, and build a ``PresenceSnapshot`` from it per join.
public struct PresenceListing: Sendable {
    private var ids = ""
    private var hash = ""
    /// Members listed so far.
    public private(set) var count = 0

    public init() {}

    /// Lists one more member (each user once), with its compact user_info JSON text (nil for none).
    public mutating func append(userID: String, userInfoJSON: String?) {
        if count > 0 {
            ids += ","
            hash += ","
        }
        JSON.appendQuoted(userID, to: &ids)
        JSON.appendQuoted(userID, to: &hash)
        hash += ":"
        hash += userInfoJSON ?? "{}"
        count += 1
    }

    /// The presence object of the members listed so far.
    public var snapshot: PresenceSnapshot {
        PresenceSnapshot(count: count, ids: ids, hash: hash)
    }
}
