import Foundation
import Synchronization

/// Watches the running step from a thread of its own: the step's wall-clock limit
/// (`--step-timeout`), the run's deadline (`--deadline`) and interrupts (SIGTERM/SIGINT).
/// When one of them is due it asks the step to stop (`onStop`: the Lua hook, the clients);
/// when the step has not stopped `grace` seconds later — Lua inside a C function such as a
/// backtracking pattern match, where no hook runs — it calls `onStuck` once, which writes the
/// report and ends the process (the binary) or does nothing more (in-process callers).
final class StepWatchdog: Sendable {
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

    /// What the run thread, the signal handler and the watchdog's thread share.
    private struct State {
        var running: Running?
        var asked: (at: Date, reason: Reason, step: String?)?
        var stuckReported = false
        var finished = false
    }
    private let state = Mutex(State())
    /// Wakes the watchdog's thread early (it holds no state).
    private let wake = NSCondition()
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
        state.withLock { $0.finished = true }
        wake.lock(); wake.broadcast(); wake.unlock()
    }

    func stepStarted(_ name: String, limit: Double?) {
        let now = Date()
        state.withLock {
            $0.running = Running(name: name, started: now, limitAt: limit.map { now.addingTimeInterval($0) }, limitSeconds: limit)
        }
    }

    func stepEnded() { state.withLock { $0.running = nil } }

    /// The reason the current (or last) step was asked to stop, if it was.
    func reason(for step: String) -> Reason? {
        state.withLock { $0.asked?.step == step ? $0.asked?.reason : nil }
    }

    /// An interrupt (SIGTERM/SIGINT): stop the step; if it does not stop, `onStuck`.
    func signalled(_ name: String) {
        let first: Bool = state.withLock { s in
            if let a = s.asked, case .signal = a.reason { return false }
            s.asked = (Date(), .signal(name), s.running?.name)
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
            let done: Bool = state.withLock { state in
                if state.finished { return true }
                if state.asked == nil, let r = state.running {
                    if let at = r.limitAt, now >= at, let s = r.limitSeconds {
                        // The run's deadline, when it is what ends the step's time.
                        if let d = runDeadline, d <= at, now >= d, let ds = deadlineSeconds {
                            state.asked = (now, .deadline(ds), r.name)
                        } else {
                            state.asked = (now, .stepLimit(s), r.name)
                        }
                        stop = state.asked!.reason
                    }
                }
                if let a = state.asked, !state.stuckReported, let r = state.running, r.name == a.step || a.step == nil,
                   now.timeIntervalSince(a.at) >= grace {
                    state.stuckReported = true
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
