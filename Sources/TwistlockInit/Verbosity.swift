import Foundation
import JSONModel
import Logging

/// How much the job says, and how: `-q` (warnings, errors and the summary), `-v` (each request:
/// method, endpoint, status, time), `-vv` (also AsyncHTTPClient's own log, through swift-log),
/// and colour on a terminal.
extension JobLog {
    /// What `-q` still prints besides warnings and errors.
    static let quietEvents: Set<String> = ["summary", "not-configured"]
}

/// ANSI colour for text lines, by what a line starts with (after the redactor: colour codes
/// never split a secret). Only for a terminal; `--no-color` and `NO_COLOR` turn it off.
public enum TerminalColor {
    static let reset = "\u{1B}[0m"
    static let red = "\u{1B}[31m", green = "\u{1B}[32m", yellow = "\u{1B}[33m", dim = "\u{1B}[2m", bold = "\u{1B}[1m"

    /// Colour for standard output: a terminal, no `--no-color`, and `NO_COLOR` unset or empty
    /// (no-color.org).
    public static func enabled(noColorFlag: Bool, environment: [String: String] = ProcessInfo.processInfo.environment,
                               isTerminal: Bool = isatty(STDOUT_FILENO) == 1) -> Bool {
        if noColorFlag { return false }
        if let v = environment["NO_COLOR"], !v.isEmpty { return false }
        return isTerminal
    }

    static func paint(_ line: String) -> String {
        let trimmed = line.drop(while: { $0 == " " })
        let color: String?
        if trimmed.hasPrefix("✘") { color = red }
        else if trimmed.hasPrefix("⚠") { color = yellow }
        else if trimmed.hasPrefix("✔") { color = green }
        else if trimmed.hasPrefix("+ ") { color = green }
        else if trimmed.hasPrefix("~ ") { color = yellow }
        else if trimmed.hasPrefix("- ") { color = red }
        else if trimmed.hasPrefix("? ") || trimmed.hasPrefix("→ ") || trimmed.hasPrefix("·") { color = dim }
        else if trimmed.hasPrefix("▶") || trimmed.hasPrefix("Plan:") { color = bold }
        else { color = nil }
        guard let color else { return line }
        return color + line + reset
    }
}

/// swift-log records (AsyncHTTPClient's) as lines of the job's log: masked like every line,
/// without source file paths.
struct JobLogHandler: LogHandler {
    let log: JobLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        let details = all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
        let text = "    · [\(source) \(level)] \(message)\(details.isEmpty ? "" : " " + details)"
        log.print(text, event: "http-client", fields: [
            "level": .string(level.rawValue), "source": .string(source), "message": .string("\(message)"),
            "metadata": .object(all.mapValues { .string("\($0)") }),
        ])
    }

    static func logger(_ log: JobLog) -> Logger {
        var logger = Logger(label: "twistlock-init.http") { _ in JobLogHandler(log: log) }
        logger.logLevel = .trace
        return logger
    }
}

extension JobRunner {
    /// `-v`: one line per request; `-vv`: also the HTTP client's own log.
    func attachVerbosity(to client: ConsoleClient) {
        guard options.verbosity >= 1 else { return }
        client.onRequest = { [log] method, path, status, seconds, failure in
            let ms = Int((seconds * 1000).rounded())
            let outcome = status.map { "\($0)" } ?? "no answer (\(failure ?? "?"))"
            var fields: [String: JSON] = ["method": .string(method), "endpoint": .string(path), "ms": .int(Int64(ms))]
            if let status { fields["status"] = .int(Int64(status)) } else { fields["error"] = .string(failure ?? "") }
            log.print("    → \(method) \(path) \(outcome) (\(ms) ms)", event: "request", fields: fields)
        }
        if options.verbosity >= 2 { client.httpLogger = JobLogHandler.logger(log) }
    }
}
