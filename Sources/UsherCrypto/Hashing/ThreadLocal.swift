#if canImport(Glibc)
import Glibc
#endif

/// One object per thread, created on first use and released when the thread exits: the home of the per-thread
/// OpenSSL context caches (contexts are not thread-safe, and locking them would serialize every signature).
///
/// `@unchecked Sendable`: it only holds the pthread key, which is immutable after creation.
final class ThreadLocal<Value: AnyObject>: @unchecked Sendable {
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<AnyObject>.fromOpaque(raw).release()
        }
        precondition(status == 0, "pthread_key_create failed")
        self.key = key
        self.make = make
    }

    /// The calling thread's object.
    var value: Value {
        if let raw = pthread_getspecific(key) {
            // Only `make`'s results are stored under this key, so the unchecked downcast is sound (and free).
            return unsafeDowncast(Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue(), to: Value.self)
        }
        let value = make()
        pthread_setspecific(key, Unmanaged<AnyObject>.passRetained(value).toOpaque())
        return value
    }
}
