@_spi(Fuzzing) import UsherCore

/// Socket ids and channel names (`Sources/UsherCore/Channels/`), each against a reference of its documented rule.
///
/// Input: byte 0 picks the length limit; the rest is the text. Properties: `SocketID` accepts exactly
/// `\A[0-9]{1,20}\.[0-9]{1,20}\z`; `ChannelName` accepts exactly non-empty names of the alphabet
/// `A-Z a-z 0-9 _ - = @ , . ;` within the limit, or `#server-to-user-` and a non-empty id of that alphabet, with
/// the kind given by the prefix; the String and Substring entry points agree.
enum ChannelsTarget {
    static let maxLengths = [ChannelName.defaultMaxLength, 1, 16, 164]

    static func run(_ data: UnsafeRawBufferPointer) {
        var reader = FuzzReader(data)
        let maxLength = maxLengths[Int(reader.byte()) % maxLengths.count]
        let text = String(decoding: reader.rest, as: UTF8.self)
        let bytes = Array(text.utf8)

        let socket = try? SocketID(validating: text)
        check((socket != nil) == isSocketID(bytes), "SocketID \(socket == nil ? "refused" : "accepted") \(show(bytes))")
        if let socket { check(socket.description == text, "SocketID changed the text") }
        check((try? SocketID(validating: text[...]))?.description == socket?.description, "SocketID's Substring path disagrees")

        let expected = referenceKind(bytes, maxLength: maxLength)
        let channel: ChannelName?
        do {
            channel = try ChannelName(validating: text, maxLength: maxLength)
        } catch {
            channel = nil
            switch expected {
            case .success(let kind): fail("ChannelName refused \(show(bytes)) (\(error)); the reference: \(kind)")
            case .failure(let reason): check(reason == error, "ChannelName refused \(show(bytes)) with \(error), the reference with \(reason)")
            }
        }
        if let channel {
            guard case .success(let kind) = expected else { fail("ChannelName accepted \(show(bytes)) as \(channel.kind)") }
            check(channel.kind == kind && channel.name == text, "ChannelName read \(channel.kind), the reference \(kind), for \(show(bytes))")
            check(channel.requiresAuthorization == [.private, .presence, .privateEncrypted].contains(kind), "requiresAuthorization for \(kind)")
        }
        check((try? ChannelName(validating: text[...], maxLength: maxLength)) == channel, "ChannelName's Substring path disagrees")
        let isCache = ["cache-", "private-cache-", "private-encrypted-cache-", "presence-cache-"].contains { bytes.starts(with: $0.utf8) }
        check(ChannelKind.isCache(text) == isCache, "isCache(\(show(bytes)))")
        // A user's own channel names that user, whenever the id is of the alphabet.
        let own = ChannelKind.serverToUserChannel(text)
        if !bytes.isEmpty, bytes.allSatisfy(isChannelCharacter), let name = try? ChannelName(validating: own, maxLength: .max) {
            check(name.kind == .serverToUser(userID: text), "the server-to-user channel of \(show(bytes)) is \(name.kind)")
        }
    }

    static func isSocketID(_ bytes: [UInt8]) -> Bool {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { (1...20).contains($0.count) && $0.allSatisfy { (0x30...0x39).contains($0) } }
    }

    static func isChannelCharacter(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || "_-=@,.;".utf8.contains(byte)
    }

    static func referenceKind(_ bytes: [UInt8], maxLength: Int) -> Result<ChannelKind, CoreError> {
        guard bytes.count <= maxLength else { return .failure(.channelNameTooLong) }
        let own = Array("#server-to-user-".utf8)
        if bytes.starts(with: own) {
            let user = bytes.dropFirst(own.count)
            guard !user.isEmpty, user.allSatisfy(isChannelCharacter) else { return .failure(.invalidChannelName) }
            return .success(.serverToUser(userID: String(decoding: user, as: UTF8.self)))
        }
        guard !bytes.isEmpty, bytes.allSatisfy(isChannelCharacter) else { return .failure(.invalidChannelName) }
        for (prefix, kind) in [("private-encrypted-", ChannelKind.privateEncrypted), ("presence-", .presence), ("private-", .private)]
        where bytes.starts(with: prefix.utf8) {
            return .success(kind)
        }
        return .success(.public)
    }
}
