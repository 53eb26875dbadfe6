import Foundation
import TwistlockInit

/// Runs the job on its own thread, with SIGTERM/SIGINT interrupting it cleanly.
public enum Launcher {
    public static func run(_ options: JobOptions, log: JobLog? = nil) -> JobReport {
        let runner = JobRunner(options: options, log: log)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let queue = DispatchQueue(label: "signals")
        var sources: [DispatchSourceSignal] = []
        for (sig, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
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
