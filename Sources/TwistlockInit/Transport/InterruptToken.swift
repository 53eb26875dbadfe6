import Foundation

/// The run's one interrupt (SIGTERM, the step watchdog): shared by the console client, the
/// Kubernetes client and `time.sleep`. Firing it abandons every request in flight (each
/// transport registers a handler that cancels its task), cuts every `pause` short (a retry's
/// backoff, a `Retry-After`, a step's sleep) and refuses every request after it. It stays
/// fired: a run that was interrupted sends nothing more.
// @unchecked Sendable: `pause` waits on a condition variable with a timeout, which Mutex does
// not offer; every mutable field is read and written with `condition` held.
public final class InterruptToken: @unchecked Sendable {
    // Every field below is read and written with `condition` held.
    private let condition = NSCondition()
    private var fired = false
    private var handlers: [Int: @Sendable () -> Void] = [:]
    private var nextHandler = 0

    public init() {}

    /// Fires the token: runs the handlers (outside the lock) and wakes every `pause`.
    /// Firing again does nothing more.
    public func fire() {
        condition.lock()
        let first = !fired
        fired = true
        let toRun = first ? Array(handlers.values) : []
        condition.broadcast()
        condition.unlock()
        for handler in toRun { handler() }
    }

    public var isFired: Bool {
        condition.lock()
        defer { condition.unlock() }
        return fired
    }

    /// Waits `seconds`, or less when the token fires meanwhile. Returns false when it fired
    /// (before or during the wait).
    @discardableResult
    public func pause(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard seconds > 0 else { return !fired }
        let until = Date().addingTimeInterval(min(seconds, 365 * 24 * 3600))
        while !fired, Date() < until {
            _ = condition.wait(until: until)
        }
        return !fired
    }

    /// Calls `handler` when the token fires (at once, on this thread, if it has fired
    /// already). Returns the handle for `remove`.
    @discardableResult
    func onFire(_ handler: @escaping @Sendable () -> Void) -> Int {
        condition.lock()
        if fired {
            condition.unlock()
            handler()
            return -1
        }
        let id = nextHandler
        nextHandler += 1
        handlers[id] = handler
        condition.unlock()
        return id
    }

    func remove(_ id: Int) {
        condition.lock()
        handlers[id] = nil
        condition.unlock()
    }
}
