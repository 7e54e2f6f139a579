/// The member-wise readers behind ``JSONValue/parseMembers(buffer:)`` and
/// ``JSONValue/forEachElement(ofArray:in:_:)``: the outer object (and the array of objects) are read member by member,
/// the values inside them as trees by `parseValue`, with the same rules and the same depth limit as `parseDocument`.
extension JSONParser {
    mutating func parseMembersDocument() throws -> JSONMembers? {
        skipByteOrderMark()
        guard try peekSignificant() == UInt8(ascii: "{") else {
            _ = try parseValue()
            try finishDocument()
            return nil
        }
        var members = JSONMembers()
        try parseObject(into: &members)
        try finishDocument()
        return members
    }

    mutating func parseElementsDocument(ofArray name: String, _ body: (Int, JSONMembers?) throws -> Void) throws -> Bool {
        skipByteOrderMark()
        guard try peekSignificant() == UInt8(ascii: "{") else {
            _ = try parseValue()
            try finishDocument()
            return false
        }
        // The root's names only, to refuse a repeated one (the values are read and dropped, or passed to `body`).
        var names = JSONMembers()
        var seen = Set<String>()
        var found = false
        try open()
        if try peekSignificant() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                let member = try parseName()
                guard names.append(name: member, value: .null, seen: &seen) else { throw failure("duplicate member name") }
                if member == name, try peekSignificant() == UInt8(ascii: "[") {
                    found = true
                    try parseElements(body)
                } else {
                    _ = try parseValue()
                }
                if try closes(UInt8(ascii: "}")) { break }
            }
        }
        openDepth -= 1
        try finishDocument()
        return found
    }

    /// Reads the array at `index`, passing each element to `body` as it is read.
    private mutating func parseElements(_ body: (Int, JSONMembers?) throws -> Void) throws {
        try open()
        defer { openDepth -= 1 }
        if try peekSignificant() == UInt8(ascii: "]") {
            index += 1
            return
        }
        var members = JSONMembers()
        var position = 0
        while true {
            if try peekSignificant() == UInt8(ascii: "{") {
                try parseObject(into: &members)
                try body(position, members)
            } else {
                _ = try parseValue()
                try body(position, nil)
            }
            position += 1
            if try closes(UInt8(ascii: "]")) { return }
        }
    }

    /// Reads the object at `index` into `members` (emptied first), refusing a repeated name.
    private mutating func parseObject(into members: inout JSONMembers) throws {
        members.removeAll()
        var seen = Set<String>()
        try open()
        defer { openDepth -= 1 }
        if try peekSignificant() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            let name = try parseName()
            guard members.append(name: name, value: try parseValue(), seen: &seen) else { throw failure("duplicate member name") }
            if try closes(UInt8(ascii: "}")) { return }
        }
    }

    /// Steps into the array or object at `index`, counting it towards the depth limit.
    private mutating func open() throws {
        guard openDepth < Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth)") }
        openDepth += 1
        index += 1
    }

    /// After an element: true past the container's `closing` bracket, false past a comma.
    private mutating func closes(_ closing: UInt8) throws -> Bool {
        switch try peekSignificant() {
        case UInt8(ascii: ","):
            index += 1
            return false
        case closing:
            index += 1
            return true
        default:
            throw failure(closing == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
        }
    }
}
