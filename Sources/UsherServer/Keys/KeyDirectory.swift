public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `keys/` directory: secrets on disk, written atomically and privately.
///
/// Every write goes to a temporary file in the same folder (mode 0600), is fsync'ed, renamed over the target and
/// the folder fsync'ed, all under an exclusive `flock` on `keys/.lock`, so a crash or a concurrent CLI run never
/// leaves a half-written or world-readable secret behind.
public struct KeyDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Opens (without touching the disk) the key directory at `path`.
    public init(path: String) {
        self.path = path
    }

    /// Creates the directory and `sub` folders with mode 0700 when missing.
    public func prepare(_ subdirectories: [String] = ["apps"]) throws(ServerError) {
        for folder in [path] + subdirectories.map({ path + "/" + $0 }) {
            if mkdir(folder, 0o700) != 0 && errno != EEXIST {
                throw .keyDirectory("cannot create \(folder): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Names of the regular `*.json` files in `subdirectory` (sorted), or none when it does not exist.
    public func jsonFiles(in subdirectory: String) -> [String] {
        let folder = path + "/" + subdirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
    }

    /// Reads a secret file, refusing it when group or others may read it.
    public func readPrivate(_ relativePath: String) throws(ServerError) -> Data {
        let full = path + "/" + relativePath
        try FilePermissions.requirePrivate(full)
        guard let data = FileManager.default.contents(atPath: full) else { throw .keyDirectory("cannot read \(full)") }
        return data
    }

    /// Whether `relativePath` exists.
    public func exists(_ relativePath: String) -> Bool {
        access(path + "/" + relativePath, F_OK) == 0
    }

    /// Runs `body` holding the directory's exclusive lock (blocking until other writers finish).
    public func withLock<R>(_ body: () throws(ServerError) -> R) throws(ServerError) -> R {
        let fd = open(path + "/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .keyDirectory("cannot open \(path)/.lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw .keyDirectory("cannot lock \(path)") }
        defer { flock(fd, LOCK_UN) }
        removeOrphanedTemporaryFiles()
        return try body()
    }

    /// Temporary files are only created under the lock, so any found while holding it were left by a writer that
    /// died mid-write (they may hold part of a private key): remove them.
    private func removeOrphanedTemporaryFiles() {
        for folder in [path, path + "/apps", path + "/signing"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names where name.hasPrefix(".tmp-") { unlink(folder + "/" + name) }
        }
    }

    /// Atomically replaces `relativePath` with `data` (mode 0600). Call inside ``withLock(_:)``.
    public func writeAtomically(_ data: Data, to relativePath: String) throws(ServerError) {
        let target = path + "/" + relativePath
        let folder = (target as NSString).deletingLastPathComponent
        let temporary = folder + "/.tmp-" + UUID().uuidString
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .keyDirectory("cannot create a file in \(folder): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, target) == 0 else {
            unlink(temporary)
            throw .keyDirectory("cannot write \(target): \(String(cString: strerror(errno)))")
        }
        let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }
}
