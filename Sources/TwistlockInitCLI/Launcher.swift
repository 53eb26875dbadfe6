import Foundation
import TwistlockInit

/// Runs the job on its own thread, with SIGTERM/SIGINT — and SIGHUP (a closed terminal or
/// session) and SIGQUIT — interrupting it cleanly: the report says where, exit 143.
public enum Launcher {
    public static let interruptSignals: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGHUP, "SIGHUP"), (SIGQUIT, "SIGQUIT")]

    public static func run(_ options: JobOptions, log: JobLog? = nil) -> JobReport {
        let runner = JobRunner(options: options, log: log)
        // A step stuck inside a C function cannot be stopped in place: once the report is
        // written, the process ends with the run's exit code.
        runner.emergencyExit = { code in
            fflush(nil)  // every output stream (the C stdout/stderr globals are not concurrency-safe)
            _exit(code)
        }
        for (sig, _) in interruptSignals { signal(sig, SIG_IGN) }
        let queue = DispatchQueue(label: "signals")
        var sources: [DispatchSourceSignal] = []
        for (sig, name) in interruptSignals {
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { runner.interrupt(reason: name) }
            s.resume()
            sources.append(s)
        }
        let report = runner.run()
        for s in sources { s.cancel() }
        return report
    }
}
