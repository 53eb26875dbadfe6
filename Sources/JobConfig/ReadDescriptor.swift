import Foundation

/// At most `limit` bytes from the open descriptor `fd`, read until end-of-file (interrupted
/// reads retried); nil on a read error, with `errno` set. The values files and the secrets
/// read through this, each after its own `fstat` check of what the descriptor is.
func readDescriptor(_ fd: Int32, upTo limit: Int) -> Data? {
    var bytes = [UInt8](repeating: 0, count: limit)
    var got = 0
    while got < bytes.count {
        let n = bytes.withUnsafeMutableBytes { buffer in
            systemRead(fd, buffer.baseAddress! + got, buffer.count - got)
        }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        got += n
    }
    return Data(bytes[..<got])
}

/// The C library's read(2), under a name no type's `read` method shadows.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
