import Yams

/// A YAML node with its path (`apps[0].identity.issuer`), so every configuration error names the field,
/// and with strict key checking, so a misspelt option fails at start instead of being ignored.
struct ConfigNode {
    let node: Node
    let path: String

    static func parse(yaml: String) throws(ServerError) -> ConfigNode? {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return nil }
            return ConfigNode(node: node, path: "")
        } catch {
            throw .invalidConfiguration("configuration is not valid YAML: \(error)")
        }
    }

    private func child(_ node: Node, _ name: String) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? name : "\(path).\(name)")
    }

    func fail(_ message: String) -> ServerError {
        .invalidConfiguration("\(path.isEmpty ? "configuration" : path): \(message)")
    }

    /// The members of a mapping, refusing keys outside `allowed` (any key when `nil`).
    func mapping(allowed: Set<String>?) throws(ServerError) -> [String: ConfigNode] {
        guard case .mapping(let mapping) = node else { throw fail("expected a mapping") }
        var members: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw fail("keys must be strings") }
            if let allowed, !allowed.contains(name) {
                throw child(value, name).fail("unknown field \"\(name)\" (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
            members[name] = child(value, name)
        }
        return members
    }

    func sequence() throws(ServerError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw fail("expected a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]") }
    }

    func string() throws(ServerError) -> String {
        guard case .scalar(let scalar) = node else { throw fail("expected a string") }
        return scalar.string
    }

    func int(in range: ClosedRange<Int>) throws(ServerError) -> Int {
        guard case .scalar = node, let value = node.int else { throw fail("expected an integer") }
        guard range.contains(value) else { throw fail("must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func bool() throws(ServerError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw fail("expected true or false") }
        return value
    }

    func strings() throws(ServerError) -> [String] {
        if case .scalar = node { return [try string()] }
        return try sequence().map { (item: ConfigNode) throws(ServerError) -> String in try item.string() }
    }
}
