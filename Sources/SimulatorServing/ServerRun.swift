import Hummingbird
import Logging
import ServiceLifecycle

/// A Hummingbird application serving in a task of its own, for the simulators.
///
/// Stopping is graceful: the listener closes and connections already accepted are served to
/// the end. Cancelling a serving task instead can leave a connection accepted but never
/// served, and NIO then traps ("Deinited NIOAsyncWriter without calling finish()",
/// apple/swift-nio#3481) — a crash of whatever process hosts the simulator (the tests, the
/// demo). If the graceful stop does not end within its timeout, the task is cancelled.
public final class ServerRun: Sendable {
    private let group: ServiceGroup
    /// Ends when the server has stopped; throws what made it stop, if anything did.
    public let task: Task<Void, Error>

    public init(app: some ApplicationProtocol, logger: Logger) {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: logger))
        self.group = group
        // Detached: a server started from a request handler of another server (the console's
        // restart) must not inherit that server's task-local graceful-shutdown state.
        self.task = Task.detached { try await group.run() }
    }

    /// Stops serving and waits until the server has stopped (at most `timeout` seconds of
    /// graceful shutdown, then cancellation).
    public func stop(timeout: Double = 3) async {
        await group.triggerGracefulShutdown()
        let task = self.task
        let watchdog = Task {
            try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
            if !Task.isCancelled { task.cancel() }
        }
        _ = try? await task.value
        watchdog.cancel()
    }

    /// Asks the server to stop without waiting (for `deinit`s).
    public func stopSoon() {
        Task { [self] in await self.stop() }
    }
}
