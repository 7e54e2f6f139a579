import Testing
import UsherCore
import UsherCrypto

/// Hostile patterns that make backtracking matchers exponential. Without timing assertions (those belong in
/// benchmarks), the time limit turns a regression into a failure instead of a hung run.
@Suite(.timeLimit(.minutes(1))) struct WildcardPerformanceTests {
    static let longName = String(repeating: "a", count: 200)

    @Test(
        "hostile wildcard patterns against 200 a's answer correctly",
        arguments: [
            ("*a*a*a*a*a*b", false), ("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", false),
            ("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", true),
            (String(repeating: "*a", count: 100) + "*", true), (String(repeating: "*a", count: 201) + "*", false),
        ]
    )
    func hostilePatterns(pattern: String, allowed: Bool) throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: pattern)])
        let channel = try ChannelName(validating: Self.longName)
        for _ in 0..<1_000 {
            #expect(policy.decide(channel: channel, claims: nil, userID: "u").isAllowed == allowed)
        }
    }

    @Test("a hostile channels claim costs no more than a rule")
    func hostileClaim() throws {
        let policy = try ChannelPolicy(rules: [ChannelRule(pattern: "*")])
        let patterns = (0..<200).map { _ in JSONValue.string(String(repeating: "*a", count: 30) + "*b") }
        let claims = JWTClaims(payload: ["channels": .array(patterns)])
        let decision = policy.decide(channel: try ChannelName(validating: Self.longName), claims: claims, userID: "u")
        #expect(decision == .deny(.outsideTokenChannels))
    }
}
