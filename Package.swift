// swift-tools-version:6.0
import PackageDescription

// twistlock-init: a Swift host that embeds Lua 5.4 and runs the step files in steps/
// against a Prisma Cloud Compute console. See README.md for the layout and why each
// dependency was chosen.
// Every target builds in the Swift 6 language mode (this tools version's default).

let package = Package(
    name: "twistlock-init",
    // macOS 15: the Synchronization module's Mutex guards shared state (Swift 6 language mode).
    platforms: [.macOS(.v15)],
    products: [
        // The production binary (the one in the image): the job only, no simulator, no Hummingbird.
        .executable(name: "twistlock-init", targets: ["twistlock-init"]),
        // The newcomer's first run: the job against the simulated console and cluster.
        .executable(name: "twistlock-demo", targets: ["twistlock-demo"]),
        .executable(name: "twistlock-console-sim", targets: ["twistlock-console-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        // Hummingbird's own lifecycle library: the simulators stop their servers gracefully.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // AsyncHTTPClient's own logging API: -vv forwards its log into the job's (masked) lines.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        // Lua 5.4 from the system (Debian: liblua5.4-dev), plus a header that turns Lua's
        // macros into inline functions and adds the C trampoline for host primitives.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // The one JSON value model: parse, encode (sorted keys), diff.
        .target(name: "JSONModel"),
        // The Lua VM: state, sandbox, limits, the JSON <-> Lua bridge.
        .target(name: "LuaHost", dependencies: ["CLua", "JSONModel"]),
        // Values (load, merge, defaults, validate, secrets) and the step manifest.
        .target(
            name: "JobConfig",
            dependencies: ["JSONModel", .product(name: "Yams", package: "Yams")]
        ),
        // The console variants (open questions about the real console and their answers, with
        // evidence): pure data the simulator answers by and twistlock-init probe reports in.
        .target(name: "ConsoleVariantRegistry", dependencies: ["JSONModel"]),
        // The simulated console (Hummingbird), faithful to the 34.04 OpenAPI document.
        .target(
            name: "ConsoleSimulator",
            dependencies: [
                "JSONModel", "SimulatorServing", "ConsoleVariantRegistry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources")]
        ),
        // How both simulators run and stop their HTTP servers.
        .target(
            name: "SimulatorServing",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A small Kubernetes API server: discovery, server-side apply, DaemonSet rollout.
        .target(
            name: "KubeSimulator",
            dependencies: [
                "JSONModel", "SimulatorServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ]
        ),
        // The job: primitives exposed to Lua, console and Kubernetes clients, the run loop,
        // plan capture, redaction and the report.
        .target(
            name: "TwistlockInit",
            dependencies: [
                "LuaHost", "JobConfig", "JSONModel", "ConsoleVariantRegistry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // What twistlock-init and twistlock-demo share on the command line: the values, steps and
        // secrets options, finding the job's steps, running the job under SIGTERM/SIGINT.
        .target(
            name: "TwistlockInitCLI",
            dependencies: [
                "TwistlockInit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The production binary: it must not depend on the simulators or Hummingbird
        // (Tests/chart/check-static.sh checks the release binary's symbols).
        .executableTarget(
            name: "twistlock-init",
            dependencies: [
                "TwistlockInit", "TwistlockInitCLI", "JobConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "twistlock-demo",
            dependencies: [
                "TwistlockInit", "TwistlockInitCLI", "ConsoleSimulator", "KubeSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "twistlock-console-sim",
            dependencies: [
                "ConsoleSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Seeds a simulated console like one people have used for a while (the benchmark's, and
        // the undo tests').
        .target(
            name: "ConsoleSeeder",
            dependencies: ["TwistlockInit", "ConsoleSimulator", "JSONModel"]
        ),
        // The benchmark: the whole job, release build, against a large simulated console.
        .executableTarget(
            name: "twistlock-bench",
            dependencies: [
                "TwistlockInit", "ConsoleSimulator", "ConsoleSeeder", "KubeSimulator", "JobConfig", "JSONModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the test targets share: raw loopback sockets (an HTTP client that shows exactly what
        // a server sends, an HTTP server too blunt to be kind), a seeded random JSON generator.
        // Test code; no production module but the JSON model.
        .target(name: "TestSupport", dependencies: ["JSONModel"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONModelTests", dependencies: ["JSONModel", "TestSupport"]),
        .testTarget(name: "LuaHostTests", dependencies: ["LuaHost", "JSONModel", "TestSupport"]),
        .testTarget(name: "JobConfigTests", dependencies: ["JobConfig", "JSONModel", "TestSupport"]),
        .testTarget(name: "ConsoleSimulatorTests", dependencies: ["ConsoleSimulator", "JSONModel", "TestSupport"]),
        // The job's parts on their own: the console request, the Kubernetes client (against the
        // Kubernetes simulator as its peer), kubeconfig, YAML, the redactor, the primitives'
        // declarations, the clients' lifecycle. Running steps end to end is StepTests'.
        .testTarget(
            name: "TwistlockInitTests",
            dependencies: [
                "TwistlockInit", "KubeSimulator", "LuaHost", "JobConfig", "JSONModel", "TestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StepTests",
            dependencies: [
                "TwistlockInit", "ConsoleSimulator", "ConsoleSeeder", "KubeSimulator", "JobConfig", "JSONModel", "TestSupport",
            ]
        ),
    ]
)
