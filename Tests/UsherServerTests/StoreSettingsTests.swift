import Logging
import Testing
@testable import UsherServer

/// The `store:` section of usher.yaml, `--store`/`USHER_STORE` values, and choosing the store at start.
@Suite struct StoreSettingsTests {
    @Test("the store section loads every field")
    func loads() throws {
        let configuration = try ConfigurationLoaderTests.load(
            "store: { url: \"postgres://usher:pw@db/usher\", pool_size: 12, retained_events: 5000, timeout_ms: 750 }")
        #expect(configuration.store.url == "postgres://usher:pw@db/usher")
        #expect(configuration.store.poolSize == 12)
        #expect(configuration.store.retainedEvents == 5000)
        #expect(configuration.store.timeout == .milliseconds(750))
    }

    @Test("memory, or nothing, selects the in-memory store", arguments: ["memory", ""])
    func memory(value: String) {
        var settings = StoreSettings()
        settings.url = "postgres://u@h/d"
        settings.select(value)
        #expect(settings.url == nil)
    }

    @Test("out-of-range and unknown store settings fail at start naming the field")
    func refusals() {
        ConfigurationLoaderTests.expectFailure("store: { pool_size: 0 }", naming: ["pool_size"])
        ConfigurationLoaderTests.expectFailure("store: { timeout_ms: 1 }", naming: ["timeout_ms"])
        ConfigurationLoaderTests.expectFailure("store: { urls: x }", naming: ["urls"])
    }

    @Test("a malformed store URL fails at start without repeating the password")
    func malformedURL() {
        var configuration = UsherConfiguration()
        configuration.store.select("postgres://usher:hunter2-secret@/nodb")
        let error = #expect(throws: ServerError.invalidConfiguration) {
            try SelectedStore(configuration: configuration, logger: Logger(label: "test"))
        }
        #expect(error?.message.contains("store") == true)
        #expect(error?.message.contains("hunter2-secret") == false)
    }

    @Test("the default store is the memory store, always ready, with no service to run")
    func defaultStore() throws {
        let selected = try SelectedStore(configuration: UsherConfiguration(), logger: Logger(label: "test"))
        #expect(selected.isReady())
        #expect(selected.service == nil)
    }
}
