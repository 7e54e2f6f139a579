// swift-tools-version:6.1
// libFuzzer targets for Usher's parsers of untrusted bytes: a separate package, so `swift build` and `swift test` of
// the main package never compile them. Build and run with `scripts/fuzz.sh` (docs/fuzzing.md).
import PackageDescription

// A path dependency's identity is its folder's name, which differs between clones ("main" here, anything in CI).
let usher = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let package = Package(
    name: "UsherFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // One executable for every target (chosen by USHER_FUZZ_TARGET), so the sanitized dependency graph is linked
        // once. Built with `-sanitize=fuzzer,address -parse-as-library`: libFuzzer supplies `main`.
        .executableTarget(
            name: "UsherFuzz",
            dependencies: [
                .product(name: "UsherServer", package: usher),
                .product(name: "UsherRelay", package: usher),
                .product(name: "UsherStore", package: usher),
                .product(name: "UsherCore", package: usher),
                .product(name: "UsherCrypto", package: usher),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("InternalImportsByDefault")]
        )
    ]
)
