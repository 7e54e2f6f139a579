import Dispatch
import Foundation
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP, for services that reload their files on it (`systemctl reload`).
public enum HangupSignals {
    /// SIGHUP as an async sequence; the default action (terminating the process) is disabled.
    public static func stream() -> AsyncStream<Void> {
        signal(SIGHUP, SIG_IGN)
        let source = SignalSource(DispatchSource.makeSignalSource(signal: SIGHUP))
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        source.source.setEventHandler { continuation.yield() }
        continuation.onTermination = { _ in source.source.cancel() }
        source.source.resume()
        return stream
    }
}

/// Dispatch sources are thread-safe but not annotated `Sendable`; this one is only resumed and cancelled.
private final class SignalSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
    init(_ source: any DispatchSourceSignal) { self.source = source }
}

/// Names, sizes and modification times of a key directory's files (`relay.token`, `apps/*`, `signing/*`): cheap to
/// compute every second, and different whenever an atomic rename replaced a file.
public struct DirectoryFingerprint: Equatable, Sendable {
    private var entries: [String: String] = [:]

    public init(path: String) {
        var token = stat()
        if stat(path + "/relay.token", &token) == 0 {
            entries["relay.token"] = "\(token.st_size):\(token.st_mtim.tv_sec).\(token.st_mtim.tv_nsec):\(token.st_ino):\(token.st_mode)"
        }
        for folder in ["apps", "signing"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path + "/" + folder)) ?? []
            for name in names where !name.hasPrefix(".") {
                var info = stat()
                guard stat(path + "/" + folder + "/" + name, &info) == 0 else { continue }
                entries[folder + "/" + name] =
                    "\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec):\(info.st_ino):\(info.st_mode)"
            }
        }
    }
}

/// The reload loop both servers run on their key directory: looks at `directory` every `interval` and at once on
/// SIGHUP, and calls `reload` when the files changed (or on SIGHUP, whether or not they did), until graceful
/// shutdown. `reload` answers whether the files loaded: only then are they remembered, so fixing a bad file (even by
/// chmod) is picked up.
public func watchKeyDirectory(_ directory: String, every interval: Duration, reload: @escaping @Sendable () -> Bool) async {
    let hangups = HangupSignals.stream()
    var fingerprint = DirectoryFingerprint(path: directory)
    // `true` = SIGHUP: reload even when the files look unchanged.
    let (ticks, tick) = AsyncStream<Bool>.makeStream(bufferingPolicy: .bufferingNewest(2))
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            for await _ in hangups { tick.yield(true) }
        }
        group.addTask {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                tick.yield(false)
            }
        }
        await withGracefulShutdownHandler {
            for await forced in ticks {
                let current = DirectoryFingerprint(path: directory)
                guard forced || current != fingerprint else { continue }
                if reload() { fingerprint = current }
            }
        } onGracefulShutdown: {
            tick.finish()
        }
        group.cancelAll()
    }
}
