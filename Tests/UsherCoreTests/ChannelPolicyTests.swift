import Testing
import UsherCore
import UsherCrypto

@Suite struct ChannelPolicyTests {
    private func decide(
        _ policy: ChannelPolicy, _ channel: String, claims: [String: JSONValue]? = nil, userID: String = "u1"
    ) throws -> PolicyDecision {
        policy.decide(channel: try ChannelName(validating: channel), claims: claims.map(JWTClaims.init(payload:)), userID: userID)
    }

    @Test(
        "fills {sub} and {user_id} with the identity's user id, also without claims",
        arguments: [
            ("private-user-u1", true), ("private-user-u2", false), ("private-user-", false), ("private-user-u1x", false),
            ("xprivate-user-u1", false), ("presence-u1-u1", true), ("presence-u1-u2", false),
        ]
    )
    func userTemplates(channel: String, allowed: Bool) throws {
        let policy = try ChannelPolicy(rules: [
            ChannelRule(pattern: "private-user-{sub}"),
            ChannelRule(pattern: "presence-{user_id}-{sub}"),
        ])
        #expect(try decide(policy, channel, claims: nil).isAllowed == allowed)
        #expect(try decide(policy, channel, claims: ["sub": .string("someone-else")]).isAllowed == allowed)
    }

    @Test("fills a claim template from a string or an integer claim")
    func claimTemplates() throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "private-team-{team}-*")])
        #expect(try decide(policy, "private-team-red-chat", claims: ["team": .string("red")]) == .allow(rule: 0))
        #expect(try decide(policy, "private-team-42-", claims: ["team": .integer(42)]) == .allow(rule: 0))
        #expect(try decide(policy, "private-team-blue-chat", claims: ["team": .string("red")]) == .deny(.noMatchingRule))
    }

    @Test(
        "a missing, empty, non-scalar or out-of-charset claim makes the rule not match",
        arguments: [
            nil, .null, .string(""), .string("a b"), .string("*"), .string("ré"), .string("#x"), .bool(true),
            .array([.string("red")]), .double(1.5), .object([:]),
        ] as [JSONValue?]
    )
    func unusableClaims(team: JSONValue?) throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "private-team-{team}*"), ChannelRule(pattern: "private-*")])
        var claims: [String: JSONValue] = [:]
        claims["team"] = team
        // The first rule never matches, so the catch-all second rule decides.
        #expect(try decide(policy, "private-team-red", claims: claims) == .allow(rule: 1))
    }

    @Test("a wildcard claim value cannot widen a rule")
    func wildcardInClaim() throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "private-{team}")])
        #expect(try decide(policy, "private-anything", claims: ["team": .string("*")]) == .deny(.noMatchingRule))
    }

    @Test(
        "* matches any run of characters, including none, anchored at both ends",
        arguments: [
            ("*", "anything", true), ("private-*", "private-", true), ("private-*", "private-a.b", true),
            ("private-*", "presence-a", false), ("*-room", "presence-room", true), ("*-room", "presence-rooms", false),
            ("a*b*c", "abc", true), ("a*b*c", "aXbYc", true), ("a*b*c", "aXcYb", false), ("a*a", "a", false),
            ("a*a", "aa", true), ("**x", "x", true), ("ab*ba", "aba", false), ("cache-*", "cache-x", true),
        ]
    )
    func wildcards(pattern: String, channel: String, allowed: Bool) throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: pattern)])
        #expect(try decide(policy, channel).isAllowed == allowed)
    }

    @Test("require accepts one of the listed values in a string or an array claim")
    func requirements() throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "private-admin-*", require: ["role": ["admin", "owner"]])])
        #expect(try decide(policy, "private-admin-x", claims: ["role": .string("owner")]) == .allow(rule: 0))
        #expect(
            try decide(policy, "private-admin-x", claims: ["role": .array([.string("user"), .string("admin")])])
                == .allow(rule: 0))
        let denied = PolicyDecision.deny(.requirementFailed(rule: 0, claim: "role"))
        #expect(try decide(policy, "private-admin-x", claims: ["role": .string("user")]) == denied)
        #expect(try decide(policy, "private-admin-x", claims: ["role": .array([])]) == denied)
        #expect(try decide(policy, "private-admin-x", claims: ["role": .string("Admin")]) == denied)
        #expect(try decide(policy, "private-admin-x", claims: [:]) == denied)
        #expect(try decide(policy, "private-admin-x", claims: nil) == denied)
    }

    @Test("every required claim must hold; the first failing one is reported in name order")
    func severalRequirements() throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "*", require: ["plan": ["pro"], "beta": ["yes"]])])
        #expect(try decide(policy, "x", claims: ["plan": .string("pro"), "beta": .string("yes")]) == .allow(rule: 0))
        #expect(try decide(policy, "x", claims: ["plan": .string("free")]) == .deny(.requirementFailed(rule: 0, claim: "beta")))
        #expect(try decide(policy, "x", claims: ["beta": .string("yes")]) == .deny(.requirementFailed(rule: 0, claim: "plan")))
    }

    @Test("the first matching rule decides and a failed requirement does not fall through")
    func firstMatchWins() throws {
        let policy = try ChannelPolicy(rules: [
            ChannelRule(pattern: "private-admin-*", require: ["role": ["admin"]]),
            ChannelRule(pattern: "private-*"),
        ])
        #expect(
            try decide(policy, "private-admin-x", claims: ["role": .string("user")])
                == .deny(.requirementFailed(rule: 0, claim: "role")))
        #expect(try decide(policy, "private-other", claims: ["role": .string("user")]) == .allow(rule: 1))
        #expect(throws: CoreError.forbiddenChannel) {
            try policy.authorize(
                channel: ChannelName(validating: "private-admin-x"), claims: JWTClaims(payload: ["role": .string("user")]),
                userID: "u1"
            )
        }
    }

    @Test("no matching rule, or no rules at all, is forbidden")
    func noMatch() throws {
        #expect(try decide(ChannelPolicy(rules: []), "private-x") == .deny(.noMatchingRule))
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "presence-*")])
        #expect(try decide(policy, "private-x") == .deny(.noMatchingRule))
        #expect(throws: CoreError.forbiddenChannel) {
            try policy.authorize(channel: ChannelName(validating: "private-x"), claims: nil, userID: "u1")
        }
        #expect(CoreError.forbiddenChannel.kind == .forbidden)
    }

    @Test("a channels claim narrows what the rules allow")
    func channelsClaim() throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "private-*")])
        let claims: [String: JSONValue] = ["channels": .array([.string("private-user-{sub}"), .string("private-team-*")])]
        #expect(try decide(policy, "private-user-u1", claims: claims) == .allow(rule: 0))
        #expect(try decide(policy, "private-team-red", claims: claims) == .allow(rule: 0))
        #expect(try decide(policy, "private-user-u2", claims: claims) == .deny(.outsideTokenChannels))
        #expect(try decide(policy, "private-other", claims: claims) == .deny(.outsideTokenChannels))
        // It never widens: the rules still have to allow the channel first.
        #expect(try decide(policy, "presence-x", claims: ["channels": .array([.string("*")])]) == .deny(.noMatchingRule))
    }

    @Test(
        "a channels claim that is not an array of valid patterns fails closed",
        arguments: [JSONValue.string("private-*"), .array([]), .array([.integer(1)]), .array([.string("private-{")]), .null]
    )
    func malformedChannelsClaim(value: JSONValue) throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "private-*")])
        #expect(try decide(policy, "private-x", claims: ["channels": value]) == .deny(.outsideTokenChannels))
    }

    @Test(
        "refuses malformed rules when compiled",
        arguments: [
            ChannelRule(pattern: ""), ChannelRule(pattern: "private-{"), ChannelRule(pattern: "private-{}"),
            ChannelRule(pattern: "private-}"), ChannelRule(pattern: "private-{a{b}"), ChannelRule(pattern: "private chat"),
            ChannelRule(pattern: "privé-*"), ChannelRule(pattern: "private-*", require: ["role": []]),
        ]
    )
    func invalidRules(rule: ChannelRule) {
        #expect(throws: CoreError.invalidChannelRule) { try ChannelPolicy(rules: [rule]) }
    }
}
