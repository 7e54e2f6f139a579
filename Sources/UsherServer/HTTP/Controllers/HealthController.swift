import Hummingbird

/// `GET /healthz` (the process is alive) and `GET /readyz` (keys loaded, at least one app to serve, and the presence
/// store reachable — with PostgreSQL, whether the database answers now).
struct HealthController: Sendable {
    let registry: AppRegistryBox
    let storeReady: @Sendable () -> Bool

    func register(with router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in Response.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in
            guard registry.current.count > 0 else {
                return Response.json(#"{"status":"no apps loaded"}"#, status: .serviceUnavailable)
            }
            guard storeReady() else {
                return Response.json(#"{"status":"presence database unavailable"}"#, status: .serviceUnavailable)
            }
            return Response.json(#"{"status":"ready"}"#)
        }
    }
}
