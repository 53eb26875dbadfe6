import ArgumentParser
import TwistlockInit

/// `--log-format text|json`: a closed choice, parsed by ArgumentParser, which refuses any other
/// value with the allowed ones named and lists them in `--help`.
extension LogFormat: ExpressibleByArgument {}
