import Foundation
import JSONModel
import Synchronization

public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

public enum LogLevel: String, Sendable {
    case info, warn, error
    var marker: String {
        switch self {
        case .info: return "✔"
        case .warn: return "⚠"
        case .error: return "✘"
        }
    }
}

/// Where the job's lines go: human-readable with ✔ ⚠ ✘ markers, or one JSON object per line.
/// Every line passes through the redactor first. The sink is injectable for tests.
public final class JobLog: Sendable {
    public let format: LogFormat
    public let redactor: Redactor
    private let sink: @Sendable (String) -> Void
    private struct State {
        var lines: [String] = []
        var quiet = false
        var color = false
    }
    /// Held while a line is kept and handed to the sink, so lines from the run thread, the
    /// watchdog and the signal handler never interleave.
    private let state = Mutex(State())
    public var lines: [String] { state.withLock { $0.lines } }
    private let keepLines: Bool
    /// `-q`: only warnings, errors and the summary (Verbosity.swift).
    public var quiet: Bool {
        get { state.withLock { $0.quiet } }
        set { state.withLock { $0.quiet = newValue } }
    }
    /// Colour (a terminal, no `--no-color`, no `NO_COLOR`): applied to what the sink gets,
    /// never to `lines` nor to JSON.
    public var color: Bool {
        get { state.withLock { $0.color } }
        set { state.withLock { $0.color = newValue } }
    }

    public init(format: LogFormat = .text, redactor: Redactor, keepLines: Bool = false,
                sink: (@Sendable (String) -> Void)? = nil) {
        self.format = format
        self.redactor = redactor
        self.keepLines = keepLines
        // A closed or full stdout drops the line (counted in `SafeOutput`), never traps.
        self.sink = sink ?? { line in SafeOutput.line(line) }
    }

    /// A message from a step (or the runner, with step nil).
    public func log(_ level: LogLevel, _ message: String, step: String? = nil, fields: [String: JSON] = [:]) {
        if quiet && level == .info { return }
        let clean = redactor.redact(message)
        switch format {
        case .text:
            // One message, one line: control characters (newlines included) are escaped so a
            // value, a console answer or a step cannot forge a line of the job's own.
            let prefix = step.map { "[\(TextSafety.escape($0))] " } ?? ""
            emit("  \(level.marker) \(prefix)\(TextSafety.escape(clean))")
        case .json:
            var obj: [String: JSON] = [
                "level": .string(level.rawValue),
                "message": .string(clean),
                "time": .string(JobLog.timestamp()),
            ]
            if let step { obj["step"] = .string(step) }
            for (k, v) in fields { obj[k] = redactor.redact(v) }
            emit(TextSafety.escapeJSONLine(JSON.object(obj).encoded()))
        }
    }

    /// A plain line of output (headings, diffs, tables) in text mode; a typed event in JSON mode.
    public func print(_ text: String, event: String = "output", fields: [String: JSON] = [:]) {
        if quiet && !JobLog.quietEvents.contains(event) { return }
        switch format {
        case .text:
            emit(TextSafety.escape(redactor.redact(text)))
        case .json:
            var obj: [String: JSON] = ["event": .string(event), "time": .string(JobLog.timestamp())]
            for (k, v) in fields { obj[k] = redactor.redact(v) }
            if fields.isEmpty { obj["message"] = .string(redactor.redact(text)) }
            emit(TextSafety.escapeJSONLine(JSON.object(obj).encoded()))
        }
    }

    private func emit(_ line: String) {
        state.withLock { s in
            if keepLines { s.lines.append(line) }
            sink(s.color && format == .text ? TerminalColor.paint(line) : line)
        }
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }
}
