import ArgumentParser
import Foundation
import TwistlockInit

// The command-line pieces twistlock-init and twistlock-demo share: the options every command
// reads (values, steps, secrets), where the job's own steps are found, and running the job with
// SIGTERM/SIGINT interrupting it. A library of its own so the demo (which links the simulators)
// and the production binary (which must not) take them from one place.

/// Values, steps and secrets: what every subcommand reads.
public struct InputOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("values")], help: ArgumentHelp("A Helm values file (repeatable; later files win).", valueName: "file"))
    public var values: [String] = []

    @Option(name: .customLong("set"), help: ArgumentHelp("Set values like Helm's --set: a.b=c,x.y[0]=z (repeatable; wins over files). Values are typed as Helm types them: true/false, null and integers are not strings, so a numeric password needs --set-string. A backslash makes the next character literal: \\, \\. \\= \\\\ (a \",\" in a password must be written \\,).", valueName: "path=value"))
    public var sets: [String] = []

    @Option(name: .customLong("set-string"), help: ArgumentHelp("Like --set, but every value is a string (--set-string console.credentials.password=12345); applied after all --set.", valueName: "path=value"))
    public var setStrings: [String] = []

    @Option(name: .customLong("steps-dir"), help: ArgumentHelp("An extra steps directory with its own manifest.yaml whose steps go before:/after: a named step (repeatable).", valueName: "dir"))
    public var stepsDirs: [String] = []

    @Option(name: .customLong("secrets-dir"), help: ArgumentHelp("A directory of secret files, as Kubernetes mounts a Secret (one file per values key, e.g. console.credentials.password).", valueName: "dir"))
    public var secretsDir: String?

    @Option(name: .customLong("builtin-steps"), help: ArgumentHelp("The job's own steps directory (default: $TWISTLOCK_INIT_STEPS, then ./steps, then the one beside the binary).", valueName: "dir"))
    public var builtinSteps: String?

    public init() {}

    public func apply(to options: inout JobOptions) throws {
        options.valuesFiles = values.map { URL(fileURLWithPath: $0) }
        options.sets = sets
        options.setStrings = setStrings
        options.stepsDirs = [try StepsLocator.builtin(builtinSteps)] + stepsDirs.map { URL(fileURLWithPath: $0, isDirectory: true) }
        options.secretsDir = secretsDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
    }
}
