import Foundation
import UsherCore
import UsherServer

/// `--dev`: make sure there is an app to play with, and show its credentials once.
enum DevApp {
    static func ensure(keysDirectory: String) throws(ServerError) {
        let store = AppCredentialStore(directory: KeyDirectory(path: keysDirectory))
        try store.directory.prepare()
        guard try store.loadAll().isEmpty else { return }
        let app: App
        // A numeric id, because pusher-http-python refuses any other app id.
        do { app = try App.generate(name: "development", now: Date()) } catch { throw .keyDirectory(error.message) }
        try store.create(app)
        print("""
            Created development app in \(keysDirectory)/apps/\(app.id).json
              app_id: \(app.id)
              key:    \(app.key)
              secret: \(app.secrets[0].secret)
            pusher-js: new Pusher("\(app.key)", { channelAuthorization: { endpoint: "http://HOST:PORT/pusher/auth" } })
            """)
        // Keep the banner ahead of the server's log lines even when stdout is a pipe or file.
        fflush(nil)
    }
}
