import Foundation
import Testing
import UsherCore
import UsherCrypto

@Suite struct AppRecordTests {
    static let file = #"""
        {"id":"3","key":"278d425bdf160c739803","name":"Demo",
         "secrets":[{"id":"s1","secret":"7ad3773142a6692b25b8","created":"2024-01-02T03:04:05Z","not_after":"2024-02-01T00:00:00.500Z"},
                    {"id":"s2","secret":"0123456789abcdef0123456789abcdef","created":"2024-01-31T00:00:00Z"}],
         "encryption_master_key":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}
        """#

    @Test("reads keys/apps/<id>.json into an app")
    func decode() throws {
        let record = try JSONDecoder().decode(App.Record.self, from: Data(Self.file.utf8))
        let app = try App(record: record)
        #expect(app.id == "3" && app.key == "278d425bdf160c739803" && app.name == "Demo")
        #expect(app.encryptionMasterKey == Fixtures.masterKey)
        #expect(app.secrets.map(\.id) == ["s1", "s2"])
        #expect(app.secrets[0].created == Date(timeIntervalSince1970: 1_704_164_645))
        #expect(app.secrets[0].notAfter == Date(timeIntervalSince1970: 1_706_745_600.5))
        #expect(app.secrets[1].notAfter == nil)
    }

    @Test("writes ISO-8601 dates, snake_case keys and a base64 master key, and reads them back")
    func roundTrip() throws {
        let app = try App(record: JSONDecoder().decode(App.Record.self, from: Data(Self.file.utf8)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try JSONValue.parse(String(decoding: encoder.encode(app.record), as: UTF8.self))
        #expect(json["encryption_master_key"]?.stringValue == "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
        guard case .array(let secrets) = json["secrets"] else {
            Issue.record("secrets is not an array")
            return
        }
        #expect(secrets.first?["created"]?.stringValue == "2024-01-02T03:04:05Z")
        #expect(secrets.first?["not_after"] != nil)
        #expect(secrets.last?["not_after"] == nil)
        let whole = try App(
            id: "x", key: "abcdefgh",
            secrets: [AppSecret(id: "a", secret: "s", created: Date(timeIntervalSince1970: 1_700_000_000))])
        #expect(try App(record: JSONDecoder().decode(App.Record.self, from: encoder.encode(whole.record))) == whole)
    }

    @Test("name and master key are optional")
    func minimal() throws {
        let text = #"{"id":"a","key":"abcdefgh","secrets":[{"id":"1","secret":"x","created":"2024-01-01T00:00:00Z"}]}"#
        let app = try App(record: JSONDecoder().decode(App.Record.self, from: Data(text.utf8)))
        #expect(app.name == nil && app.encryptionMasterKey == nil)
    }

    @Test("refuses a master key that is not base64 of 32 bytes", arguments: ["not base64!", "MDEy", ""])
    func badMasterKey(key: String) throws {
        var record = try JSONDecoder().decode(App.Record.self, from: Data(Self.file.utf8))
        record.encryptionMasterKey = key
        #expect(throws: CoreError.invalidEncryptionMasterKey) { try App(record: record) }
    }

    @Test("refuses dates that are not ISO-8601", arguments: ["1700000000", "2024-01-01", "yesterday"])
    func badDate(date: String) {
        let text = #"{"id":"a","key":"abcdefgh","secrets":[{"id":"1","secret":"x","created":"\#(date)"}]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(App.Record.self, from: Data(text.utf8)) }
    }
}
