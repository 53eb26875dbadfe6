import Foundation

/// Watches the running step from a thread of its own: the step's wall-clock limit
/// (`--step-timeout`), the run's deadline (`--deadline`) and interrupts (SIGTERM/SIGINT).
/// When one of them is due it asks the step to stop (`onStop`: the Lua hook, the clients);
/// when the step has not stopped `grace` seconds later — Lua inside a C function such as a
/// backtracking pattern match, where no hook runs — it calls `onStuck` once, which writes the
/// report and ends the process (the binary) or does nothing more (in-process callers).
final class StepWatchdog: @unchecked Sendable {
    enum Reason: Sendable, Equatable {
        /// SIGTERM or SIGINT (its name).
        case signal(String)
        /// The step ran longer than its limit (seconds).
        case stepLimit(Double)
        /// The run's deadline passed (seconds from the start).
        case deadline(Double)
    }

    struct Running: Sendable {
        let name: String
        let started: Date
        let limitAt: Date?
        let limitSeconds: Double?
    }

    private let lock = NSLock()
    private let wake = NSCondition()
    private var running: Running?
    private var asked: (at: Date, reason: Reason, step: String?)?
    private var stuckReported = false
    private var finished = false
    private let runDeadline: Date?
    private let deadlineSeconds: Double?
    let grace: Double
    private let onStop: @Sendable (Reason) -> Void
    private let onStuck: @Sendable (Running, Reason) -> Void

    init(runDeadline: Date?, deadlineSeconds: Double?, grace: Double = 1.0,
         onStop: @escaping @Sendable (Reason) -> Void, onStuck: @escaping @Sendable (Running, Reason) -> Void) {
        self.runDeadline = runDeadline
        self.deadlineSeconds = deadlineSeconds
        self.grace = grace
        self.onStop = onStop
        self.onStuck = onStuck
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "step-watchdog"
        thread.start()
    }

    func finish() {
        lock.withLock { finished = true }
        wake.lock(); wake.broadcast(); wake.unlock()
    }

    func stepStarted(_ name: String, limit: Double?) {
        let now = Date()
        lock.withLock {
            running = Running(name: name, started: now, limitAt: limit.map { now.addingTimeInterval($0) }, limitSeconds: limit)
        }
    }

    func stepEnded() { lock.withLock { running = nil } }

    /// The reason the current (or last) step was asked to stop, if it was.
    func reason(for step: String) -> Reason? {
        lock.withLock { asked?.step == step ? asked?.reason : nil }
    }

    /// An interrupt (SIGTERM/SIGINT): stop the step; if it does not stop, `onStuck`.
    func signalled(_ name: String) {
        let first: Bool = lock.withLock {
            if let a = asked, case .signal = a.reason { return false }
            asked = (Date(), .signal(name), running?.name)
            return true
        }
        if first { onStop(.signal(name)) }
        wake.lock(); wake.broadcast(); wake.unlock()
    }

    private func loop() {
        while true {
            wake.lock()
            _ = wake.wait(until: Date().addingTimeInterval(0.05))
            wake.unlock()
            let now = Date()
            var stop: Reason?
            var stuck: (Running, Reason)?
            let done: Bool = lock.withLock {
                if finished { return true }
                if asked == nil, let r = running {
                    if let at = r.limitAt, now >= at, let s = r.limitSeconds {
                        // The run's deadline, when it is what ends the step's time.
                        if let d = runDeadline, d <= at, now >= d, let ds = deadlineSeconds {
                            asked = (now, .deadline(ds), r.name)
                        } else {
                            asked = (now, .stepLimit(s), r.name)
                        }
                        stop = asked!.reason
                    }
                }
                if let a = asked, !stuckReported, let r = running, r.name == a.step || a.step == nil,
                   now.timeIntervalSince(a.at) >= grace {
                    stuckReported = true
                    stuck = (r, a.reason)
                }
                return false
            }
            if done { return }
            if let stop { onStop(stop) }
            if let (r, reason) = stuck { onStuck(r, reason) }
        }
    }
}
