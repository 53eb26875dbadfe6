import Foundation
import JSONModel

/// The plan as operators use it in CI: Terraform's `-detailed-exitcode`, a count of what would
/// be created, updated and removed, and the plan file (`plan -o FILE`).
extension JobReport {
    /// Planned writes by action.
    public var plannedCounts: (create: Int, update: Int, remove: Int) {
        var c = (create: 0, update: 0, remove: 0)
        for w in writes where w.planned {
            switch w.action {
            case .create: c.create += 1
            case .update: c.update += 1
            case .remove: c.remove += 1
            }
        }
        return c
    }

    public var plannedWrites: Int { writes.filter { $0.planned }.count }

    /// `plan --detailed-exitcode`, Terraform's meaning: 0 nothing would change, 2 something
    /// would, 1 an error (invalid input, a failed step, an interruption) — or a plan that
    /// stopped early with nothing planned before the stop, which cannot say "nothing changes".
    public var detailedExitCode: Int32 {
        if exitCode != JobExitCode.done { return 1 }
        if plannedWrites > 0 { return 2 }
        if stopMessage != nil { return 1 }
        return 0
    }

    /// `Plan: 2 to create, 1 to update, 0 to remove; 1 cannot compare.`
    public var planLine: String {
        let c = plannedCounts
        var line = "Plan: \(c.create) to create, \(c.update) to update, \(c.remove) to remove"
        if !cannotCompare.isEmpty { line += "; \(cannotCompare.count) cannot compare" }
        return line + "."
    }
}

extension JobRunner {
    /// Writes the plan file: every planned write with its full body (masked), its changes,
    /// the objects that cannot be compared, and the counts.
    func writePlanFile(_ report: JobReport, ledger: Ledger) {
        guard let url = options.planFile else { return }
        let c = report.plannedCounts
        let writes: [JSON] = ledger.records.filter { $0.planned }.map { r in
            guard case .object(var o) = r.json else { return r.json }
            o["body"] = r.maskedBody(redactor) ?? .null
            return .object(o)
        }
        let plan = JSON.object([
            "console": .string(options.consoleURL),
            "complete": .bool(report.exitCode == JobExitCode.done && report.stopMessage == nil),
            "exitCode": .int(Int64(report.exitCode)),
            "summary": .object([
                "create": .int(Int64(c.create)), "update": .int(Int64(c.update)),
                "remove": .int(Int64(c.remove)), "cannotCompare": .int(Int64(ledger.cannotCompare.count)),
            ]),
            "writes": .array(writes),
            "cannotCompare": .array(ledger.cannotCompare.map { $0.json }),
            "steps": report.json["steps"] ?? .array([]),
        ])
        let text = TextSafety.escapeJSONLine(redactor.redact(plan.encoded(pretty: true))) + "\n"
        do {
            // A new file beside the target, renamed over it: only ever a regular file (issue 13).
            try ReportFile.write(text, to: url, flag: "--out")
        } catch {
            log.log(.error, "cannot write the plan: \(error)")
        }
    }
}

extension JobReport {
    /// The last line of a run that stopped early without failing (exit 0: refused credentials
    /// on what may be a first install, no license yet): loud, so a green release with nothing
    /// configured cannot pass unnoticed. Nil otherwise.
    public var notConfiguredLine: String? {
        guard mode == .run, exitCode == JobExitCode.done, let stop = stopMessage else { return nil }
        return "✘✘ NOT CONFIGURED: \(stop) — the job exits 0 (a first install may not be ready yet); --strict (chart: init.strict) makes it fail"
    }
}
