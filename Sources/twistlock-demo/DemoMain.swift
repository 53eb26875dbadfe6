import TwistlockInitCLI

/// The entry point, shared with `twistlock-init` (`CommandMain`): an invalid flag is exit 2
/// with one line (not ArgumentParser's 64 and usage), `--help` exit 0, the run's own exit code
/// passes through, and SIGPIPE is ignored (`twistlock-demo | head -1` does not kill it).
@main
enum DemoMain {
    static func main() {
        CommandMain.main(Demo.self)
    }
}
