import Foundation
import JobConfig
import JSONModel
import LuaHost
import Synchronization

public enum JobMode: String, Sendable {
    case run
    case plan
}

/// Everything the primitives share during one run: values, the console client, the log, the
/// ledger of writes, the secrets directory, and the step now running.
public final class JobContext: Sendable {
    public let mode: JobMode
    public let strict: Bool
    public let values: Values
    public let redactor: Redactor
    public let log: JobLog
    public let console: ConsoleClient
    /// The run's one interrupt (SIGTERM, the step watchdog): the console client's, shared with
    /// the Kubernetes client and `time.sleep`.
    public var interrupt: InterruptToken { console.interruptToken }
    public let ledger: Ledger
    /// Reads back what each step wrote (verify after write).
    let verifier = WriteVerifier()
    public let secretsDir: URL?
    public let kubeconfig: String?

    /// What changes during the run: written by the run thread, read by the watchdog and the
    /// signal handler too.
    private struct State {
        var kubeState: (any AnyObject & Sendable)?
        var step = ""
        var consoleVersion: String?
        var fullDiffs = false
    }
    private let state = Mutex(State())

    /// The Kubernetes client, built on the first `k8s.*` call so that runs without the
    /// defenders step need no cluster (owned by the k8s primitives).
    public var kubeState: (any AnyObject & Sendable)? {
        get { state.withLock { $0.kubeState } }
        set { state.withLock { $0.kubeState = newValue } }
    }
    /// The step now running (set by the runner).
    public internal(set) var step: String {
        get { state.withLock { $0.step } }
        set { state.withLock { $0.step = newValue } }
    }
    var consoleVersion: String? {
        get { state.withLock { $0.consoleVersion } }
        set { state.withLock { $0.consoleVersion = newValue } }
    }
    /// `--full`: diffs print every change and whole values (no "…").
    public var fullDiffs: Bool {
        get { state.withLock { $0.fullDiffs } }
        set { state.withLock { $0.fullDiffs = newValue } }
    }

    public init(mode: JobMode, strict: Bool, values: Values, redactor: Redactor, log: JobLog,
                console: ConsoleClient, secretsDir: URL?, kubeconfig: String? = nil) {
        self.mode = mode
        self.strict = strict
        self.values = values
        self.redactor = redactor
        self.log = log
        self.console = console
        self.ledger = Ledger(redactor: redactor)
        self.secretsDir = secretsDir
        self.kubeconfig = kubeconfig
    }
}

/// Raised inside a step by `job.stop(message)`; the runner ends the run when the step fails with
/// it (the error value that reached the top of the step carries it: a `job.stop` the step caught
/// with `pcall` and did not raise again stops nothing).
public struct JobStop: Error, CustomStringConvertible, LuaStructuredError {
    public let message: String
    public var description: String { "job.stop: \(message)" }
    public var luaKind: String { "stop" }

    /// The stop a step's failure carries, if any.
    static func carried(by error: Error) -> JobStop? {
        (error as? LuaError)?.underlying as? JobStop
    }
}

/// An error a primitive raises: its text becomes the Lua error message.
public struct PrimitiveError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
