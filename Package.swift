// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Usher",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "usher", targets: ["UsherCLI"]),
        .library(name: "UsherServer", targets: ["UsherServer"]),
        .library(name: "UsherCore", targets: ["UsherCore"]),
        .library(name: "UsherCrypto", targets: ["UsherCrypto"]),
        .library(name: "UsherStore", targets: ["UsherStore"]),
        .library(name: "UsherStorePostgres", targets: ["UsherStorePostgres"]),
        .library(name: "UsherRelay", targets: ["UsherRelay"]),
        .library(name: "UsherNIO", targets: ["UsherNIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibJWT",
            pkgConfig: "libjwt",
            providers: [.apt(["libjwt-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "UsherCrypto",
            dependencies: ["CLibJWT", "COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "UsherCore",
            dependencies: ["UsherCrypto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "UsherStore",
            dependencies: ["UsherCore", "UsherCrypto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "UsherStorePostgres",
            dependencies: [
                "UsherCore",
                "UsherCrypto",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What both servers put in front of their HTTP pipelines: request deadlines, TLS with reloaded certificates.
        .target(
            name: "UsherNIO",
            dependencies: [
                "UsherCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // The reference relay speaks the Pusher WebSocket protocol to browsers and only the relay contract (HTTP/JSON
        // and SSE) to Usher: it depends on Core for shared vocabulary, never on the server's internals.
        .target(
            name: "UsherRelay",
            dependencies: [
                "UsherCore",
                "UsherCrypto",
                "UsherNIO",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "UsherServer",
            dependencies: [
                "UsherCore",
                "UsherStore",
                "UsherStorePostgres",
                "UsherCrypto",
                "UsherNIO",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "UsherCLI",
            dependencies: [
                "UsherServer",
                "UsherRelay",
                "UsherCore",
                "UsherCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "UsherCryptoTests", dependencies: ["UsherCrypto"], swiftSettings: swiftSettings),
        // Helpers shared by test targets (a seeded generator for the randomized model tests, test certificates, a TLS
        // client, the test PostgreSQL cluster); never shipped.
        .target(
            name: "UsherTestSupport",
            dependencies: [
                "UsherStorePostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/UsherTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "UsherCoreTests", dependencies: ["UsherCore", "UsherCrypto", "UsherTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "UsherStoreTests", dependencies: ["UsherStore", "UsherCore", "UsherTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "UsherStorePostgresTests",
            dependencies: [
                "UsherStorePostgres",
                "UsherCore",
                "UsherCrypto",
                "UsherTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UsherRelayTests",
            dependencies: [
                "UsherRelay",
                "UsherServer",
                "UsherCore",
                "UsherCrypto",
                "UsherTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UsherServerTests",
            dependencies: [
                "UsherServer",
                "UsherNIO",
                "UsherStorePostgres",
                "UsherCore",
                "UsherCrypto",
                "UsherTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
