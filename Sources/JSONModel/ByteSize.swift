/// Byte counts in messages: `32 MiB`, `4 KiB`, `1000 bytes`, `1 byte` — a binary unit only
/// where the count is a whole number of it, so a limit reads back exactly as configured.
/// (Here because every module that words a size limit — values, the Lua host, the clients —
/// already depends on this one.)
public enum ByteSize {
    public static func text(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return bytes == 1 ? "1 byte" : "\(bytes) bytes"
    }
}
