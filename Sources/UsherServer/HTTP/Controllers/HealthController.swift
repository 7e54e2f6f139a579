import Hummingbird

/// `GET /healthz` (the process is alive) and `GET /readyz` (keys loaded: at least one app to serve).
struct HealthController: Sendable {
    let registry: AppRegistryBox

    func register(with router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in Response.json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ in
            registry.current.count > 0
                ? Response.json(#"{"status":"ready"}"#)
                : Response.json(#"{"status":"no apps loaded"}"#, status: .serviceUnavailable)
        }
    }
}
