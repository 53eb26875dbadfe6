import AsyncHTTPClient
import Logging
import NIOCore

/// One request and its whole answer, as the console and Kubernetes clients send them
/// (blocking the calling thread: never call it on an event loop).
enum HTTPFetch {
    struct Answer {
        let status: Int
        /// Header names lower-cased.
        let headers: [String: String]
        let body: ByteBuffer?
    }

    /// The answer's body was larger than `limit` bytes (the same answer would come back: not
    /// worth retrying).
    struct TooLarge: Error {
        let limit: Int
    }

    /// Sends `request` and waits for the answer, within `timeout` seconds. `started` gets the
    /// task before the wait (so an interrupt can abandon it). A body over `maxBodyBytes`
    /// (bounded by ByteBuffer's own 4 GiB) throws `TooLarge` as soon as it shows.
    /// `logger`: AsyncHTTPClient's own log of the request (`-vv`).
    static func send(_ request: HTTPClient.Request, on http: HTTPClient, maxBodyBytes: Int, timeout: Double,
                     logger: Logger? = nil,
                     started: (HTTPClient.Task<HTTPClient.Response>) -> Void) throws -> Answer {
        let limit = min(max(maxBodyBytes, 0), Int(UInt32.max))
        let delegate = ResponseAccumulator(request: request, maxBodySize: limit)
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
        let task = logger.map { http.execute(request: request, delegate: delegate, deadline: deadline, logger: $0) }
            ?? http.execute(request: request, delegate: delegate, deadline: deadline)
        started(task)
        let response: HTTPClient.Response
        do {
            response = try task.wait()
        } catch is ResponseAccumulator.ResponseTooBigError {
            throw TooLarge(limit: limit)
        }
        var headers: [String: String] = [:]
        for (k, v) in response.headers { headers[k.lowercased()] = v }
        return Answer(status: Int(response.status.code), headers: headers, body: response.body)
    }
}
