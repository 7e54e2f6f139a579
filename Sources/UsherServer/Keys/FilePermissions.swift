#if canImport(Glibc)
import Glibc
#endif

/// POSIX permission checks for secret files.
enum FilePermissions {
    /// The file's mode bits, or `nil` when it cannot be stat'ed.
    static func mode(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode)
    }

    /// Throws when `path` is readable or writable by group or others.
    static func requirePrivate(_ path: String) throws(ServerError) {
        guard let mode = mode(of: path) else { throw .keyDirectory("cannot stat \(path)") }
        if mode & 0o077 != 0 {
            throw .keyDirectory("\(path) is accessible by group or others (mode \(String(mode & 0o777, radix: 8))); run chmod 600 \(path)")
        }
    }
}
