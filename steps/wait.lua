-- wait: poll the console until it answers, within init.waitTimeoutSeconds, with a progress
-- line every 10 seconds. A console may take minutes to come up after an install or upgrade.
local fields = require("settings_fields")
local timeout = fields.lookup(values, "init.waitTimeoutSeconds")
local started = time.now()
local attempts, last_note = 0, 0

while true do
  attempts = attempts + 1
  -- Each poll waits for its answer no longer than the time left (a console that accepts the
  -- connection but never answers must not hold the step past its timeout).
  local left = math.max(0.1, timeout - (time.now() - started))
  local ok, resp = pcall(console.request, {method = "GET", path = "_ping", auth = false, retry = false, timeout = left})
  if ok and resp.status == 200 then
    log.info("the console answers at %s (%d attempt%s, %.1f s)", job.console_url, attempts,
      attempts == 1 and "" or "s", time.now() - started)
    return
  end
  local why = ok and ("HTTP " .. resp.status) or tostring(resp)
  if ok and resp.status == 407 then
    -- A proxy answered for the console: waiting will not take it out of the way.
    error(string.format("a proxy is in the way: %s answered 407 Proxy Authentication Required, not the console; "
      .. "the job talks to the console directly (let it through: NO_PROXY, the NetworkPolicy, the service URL)", job.console_url), 0)
  end
  if not ok and why:find("TLS: ", 1, true) then
    -- A certificate the job does not accept, or a port that does not speak TLS, will not fix
    -- itself by waiting. The host's sentence says why and what to do.
    error(string.format("cannot talk to the console: %s", why), 0)
  end
  local elapsed = time.now() - started
  if elapsed >= timeout then
    error(string.format("the console at %s did not answer within %d s (init.waitTimeoutSeconds); last answer: %s",
      job.console_url, timeout, why))
  end
  if attempts == 1 or elapsed - last_note >= 10 then
    log.info("waiting for the console (%s); %.0f s of %d s", why, elapsed, timeout)
    last_note = elapsed
  end
  time.sleep(math.min(2, timeout - elapsed))
end
