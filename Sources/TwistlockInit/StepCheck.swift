import Foundation
import JobConfig
import JSONModel
import LuaHost

/// Every step file (and every `lib/*.lua` of the steps directories) compiles: checked by
/// `list`, `run` and `plan` before anything is sent, so a syntax error in a step that runs
/// late — or is skipped today — shows with its file and line at once (exit 2).
enum StepCheck {
    static func compileProblems(_ steps: [StepSpec], stepsDirs: [URL]) -> [ValuesProblem] {
        guard let vm = try? LuaVM(limits: LuaLimits()) else { return [] }
        var files = steps.map(\.file)
        for dir in stepsDirs {
            let lib = dir.appendingPathComponent("lib")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: lib.path)) ?? []
            files += names.filter { $0.hasSuffix(".lua") }.sorted().map { lib.appendingPathComponent($0) }
        }
        var seen = Set<String>()
        var problems: [ValuesProblem] = []
        for file in files where seen.insert(file.standardizedFileURL.path).inserted {
            let source: String
            do {
                source = try RegularFile.text(file.path)
            } catch let refusal as RegularFile.Refusal {
                let step = steps.first { $0.file == file }.map { "step \"\($0.name)\": " } ?? ""
                problems.append(ValuesProblem(key: file.path, message: step + refusal.reason))
                continue
            } catch {
                problems.append(ValuesProblem(key: file.path, message: "cannot be read as UTF-8 text"))
                continue
            }
            do {
                try vm.compile(source: source, chunkName: file.path)
            } catch let error as LuaError {
                let at = error.line.map { "\(file.path):\($0)" } ?? file.path
                problems.append(ValuesProblem(key: at, message: "syntax error: \(error.message)"))
            } catch {
                problems.append(ValuesProblem(key: file.path, message: "\(error)"))
            }
        }
        return problems
    }
}
