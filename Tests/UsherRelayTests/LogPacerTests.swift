import Testing
@testable import UsherRelay

@Suite struct LogPacerTests {
    @Test("a warning is logged at once, then at most once per interval with the count since the last line, per key")
    func pacing() async throws {
        let pacer = LogPacer(interval: .milliseconds(200))
        #expect(pacer.note("drops", count: 1) == 1)
        #expect(pacer.note("drops", count: 5) == nil)
        #expect(pacer.note("failed") == 1)
        #expect(pacer.note("drops", count: 2) == nil)
        #expect(pacer.note("failed") == nil)
        try await Task.sleep(for: .milliseconds(250))
        #expect(pacer.note("drops", count: 1) == 8)
        #expect(pacer.note("failed") == 2)
        #expect(pacer.note("drops") == nil)
    }
}
