import AsyncHTTPClient
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
    static func send(_ request: HTTPClient.Request, on http: HTTPClient, maxBodyBytes: Int, timeout: Double,
                     started: (HTTPClient.Task<HTTPClient.Response>) -> Void) throws -> Answer {
        let limit = min(max(maxBodyBytes, 0), Int(UInt32.max))
        let task = http.execute(request: request, delegate: ResponseAccumulator(request: request, maxBodySize: limit),
                                deadline: .now() + .milliseconds(Int64(timeout * 1000)))
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
