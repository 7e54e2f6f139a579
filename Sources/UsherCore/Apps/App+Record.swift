public import Foundation
import UsherCrypto

extension App {
    /// The JSON shape of `keys/apps/<app_id>.json`:
    /// `{id, key, name?, secrets: [{id, secret, created, not_after?}], encryption_master_key?}`.
    ///
    /// Dates are ISO-8601 strings and the master key is standard base64, whatever the coder's strategies are,
    /// so the file reads the same from the CLI and the server. Convert with ``App/init(record:)`` and ``App/record``.
    public struct Record: Sendable, Equatable, Codable {
        /// The app id.
        public var id: String
        /// The public app key.
        public var key: String
        /// A human-readable name.
        public var name: String?
        /// The secrets, oldest first by convention.
        public var secrets: [SecretRecord]
        /// Base64 of the 32-byte encryption master key.
        public var encryptionMasterKey: String?

        private enum CodingKeys: String, CodingKey {
            case id, key, name, secrets
            case encryptionMasterKey = "encryption_master_key"
        }
    }

    /// One entry of ``Record/secrets``.
    public struct SecretRecord: Sendable, Equatable, Codable {
        /// The secret's id.
        public var id: String
        /// The secret text.
        public var secret: String
        /// When it was created.
        public var created: Date
        /// When it stops being accepted.
        public var notAfter: Date?

        private enum CodingKeys: String, CodingKey {
            case id, secret, created
            case notAfter = "not_after"
        }

        /// Creates a secret record.
        public init(id: String, secret: String, created: Date, notAfter: Date? = nil) {
            self.id = id
            self.secret = secret
            self.created = created
            self.notAfter = notAfter
        }

        /// Decodes, reading the dates as ISO-8601 text with or without fractional seconds.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            secret = try container.decode(String.self, forKey: .secret)
            created = try Self.date(container.decode(String.self, forKey: .created), key: .created, in: container)
            notAfter = try container.decodeIfPresent(String.self, forKey: .notAfter).map {
                try Self.date($0, key: .notAfter, in: container)
            }
        }

        /// Encodes, writing dates as ISO-8601 text in UTC with whole seconds.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(secret, forKey: .secret)
            try container.encode(created.formatted(.iso8601), forKey: .created)
            try container.encodeIfPresent(notAfter?.formatted(.iso8601), forKey: .notAfter)
        }

        private static func date(
            _ text: String, key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>
        ) throws -> Date {
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return date
            }
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not an ISO-8601 date")
        }
    }

    /// Validates a file record into an app.
    ///
    /// - Throws: What ``App/init(id:key:name:secrets:encryptionMasterKey:)`` throws, and
    ///   ``CoreError/invalidEncryptionMasterKey`` when the master key is not base64 of 32 bytes.
    public init(record: Record) throws(CoreError) {
        var masterKey: [UInt8]?
        if let text = record.encryptionMasterKey {
            guard let bytes = Base64.decode(text) else { throw .invalidEncryptionMasterKey }
            masterKey = bytes
        }
        let secrets = record.secrets.map {
            AppSecret(id: $0.id, secret: $0.secret, created: $0.created, notAfter: $0.notAfter)
        }
        try self.init(id: record.id, key: record.key, name: record.name, secrets: secrets, encryptionMasterKey: masterKey)
    }

    /// The file record of this app.
    public var record: Record {
        Record(
            id: id,
            key: key,
            name: name,
            secrets: secrets.map { SecretRecord(id: $0.id, secret: $0.secret, created: $0.created, notAfter: $0.notAfter) },
            encryptionMasterKey: encryptionMasterKey.map { Base64.encode($0) }
        )
    }
}
