import Foundation
public import HummingbirdCore
public import ServiceLifecycle
public import Logging
public import NIOCore
public import NIOSSL
import Synchronization
import UsherCrypto

/// A server's TLS certificate chain and private key (PEM files), loaded into the context every new connection
/// handshakes with, and reloaded when either file changes: connections already open keep the context they began
/// with, new ones get the new certificate, so a renewed certificate needs no restart and drops nothing.
///
/// TLS 1.2 and 1.3 only, HTTP/1.1 offered by ALPN.
public final class TLSCertificates: Sendable {
    /// Where the PEM files are.
    public struct Files: Sendable, Hashable {
        /// The certificate chain: the server's certificate first, then intermediates.
        public var certificateChain: String
        /// The unencrypted private key of the first certificate.
        public var privateKey: String

        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// A start-up or reload failure, naming the file and the problem (never the key's content).
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    public let files: Files
    private let state: Mutex<(context: NIOSSLContext, stamp: [FileStamp?])>

    /// Loads and checks the pair.
    ///
    /// - Throws: ``LoadError`` for a missing or unreadable file, a file without a PEM certificate or key, an encrypted
    ///   key, or a key that does not belong to the certificate.
    public init(files: Files) throws(LoadError) {
        self.files = files
        let stamp = Self.stamps(files)
        state = Mutex((try Self.context(files), stamp))
    }

    /// The context new connections handshake with.
    public var context: NIOSSLContext { state.withLock { $0.context } }

    /// Reloads the pair when either file changed since the last load; a pair that fails to load leaves the current
    /// one in place. Returns whether a new pair is now in use.
    @discardableResult
    public func reloadIfChanged() throws(LoadError) -> Bool {
        let stamp = Self.stamps(files)
        guard stamp != state.withLock({ $0.stamp }) else { return false }
        do {
            let context = try Self.context(files)
            state.withLock { $0 = (context, stamp) }
            return true
        } catch {
            // Not again until the files change once more (a half-written pair is retried when the write ends).
            state.withLock { $0.stamp = stamp }
            throw error
        }
    }

    /// Polls the files every `interval` until cancelled, logging reloads and failures.
    public func watch(every interval: Duration, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                if try reloadIfChanged() { logger.notice("TLS certificate reloaded", metadata: ["usher.tls.certificate": "\(files.certificateChain)"]) }
            } catch {
                logger.error("TLS certificate not reloaded; the previous one stays in use", metadata: ["usher.error": "\(error)"])
            }
        }
    }

    private struct FileStamp: Equatable {
        let modified: Date?
        let size: Int?
        let inode: Int?
    }

    private static func stamps(_ files: Files) -> [FileStamp?] {
        [files.certificateChain, files.privateKey].map { path in
            // Symbolic links are followed: certbot and Kubernetes swap the link, not the file.
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
            else { return nil }
            return FileStamp(
                modified: attributes[.modificationDate] as? Date, size: (attributes[.size] as? NSNumber)?.intValue,
                inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
        }
    }

    private static func read(_ path: String, _ what: String) throws(LoadError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(description: "TLS \(what) \(path): cannot read the file (missing, or not readable by this user)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func context(_ files: Files) throws(LoadError) -> NIOSSLContext {
        let chainPEM = try read(files.certificateChain, "certificate chain")
        let keyPEM = try read(files.privateKey, "private key")
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
        } catch {
            throw LoadError(description: "TLS certificate chain \(files.certificateChain): no PEM certificate could be read")
        }
        guard !chain.isEmpty else {
            throw LoadError(description: "TLS certificate chain \(files.certificateChain): no PEM certificate could be read")
        }
        do {
            guard try TLSKeyPair.matches(certificatePEM: chainPEM, keyPEM: keyPEM) else {
                throw LoadError(
                    description: "TLS private key \(files.privateKey) does not belong to the first certificate of \(files.certificateChain)")
            }
            key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch let error as LoadError {
            throw error
        } catch let error as CryptoError where error == .encryptedKey {
            throw LoadError(description: "TLS private key \(files.privateKey) is encrypted; give an unencrypted key (mode 0600)")
        } catch {
            throw LoadError(description: "TLS private key \(files.privateKey): no PEM private key could be read")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw LoadError(description: "TLS \(files.certificateChain) with \(files.privateKey): \(error)")
        }
    }
}

extension TLSCertificates {
    /// Watches the certificate files (every second) until graceful shutdown, so a renewed pair is used without a
    /// restart.
    public struct Reloader: Service {
        let certificates: TLSCertificates
        let logger: Logger

        public init(certificates: TLSCertificates, logger: Logger) {
            self.certificates = certificates
            self.logger = logger
        }

        public func run() async throws {
            await cancelWhenGracefulShutdown { await certificates.watch(every: .seconds(1), logger: logger) }
        }
    }
}

/// A server child channel behind TLS: the handshake uses the certificate in use when the connection arrives.
public struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value

    let base: Base
    let certificates: TLSCertificates

    public init(_ base: Base, certificates: TLSCertificates) {
        self.base = base
        self.certificates = certificates
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: certificates.context))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension TLSServerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { base.responder }
}
