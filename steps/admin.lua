-- admin: on a new console, sign up the first admin (console.credentials); then log in.
-- Credentials the console refuses end the run with a clear message: exit 0 by default (the
-- console may simply not be set up for this job yet), a failure with --strict.
-- Anything but an object with a boolean `initialized` is refused, naming the endpoint: an
-- answer of the wrong shape must not be taken for "not initialized" (that would sign up).
local answers = require("answers")
local fields = require("settings_fields")
local creds = fields.lookup(values, "console.credentials")

local r = console.request{method = "GET", path = "settings/initialized", auth = false}
local endpoint = answers.endpoint("GET", "settings/initialized")
if r.status ~= 200 then
  error(string.format("%s: unexpected answer (HTTP %d)", endpoint, r.status), 0)
end
local state = answers.expect(r.body, "object", endpoint)
if type(state.initialized) ~= "boolean" then
  error(string.format("%s: expected initialized to be true or false, got %s", endpoint,
    answers.shape(state.initialized)), 0)
end

if not state.initialized then
  local res = console.post("signup", {username = creds.username, password = creds.password},
    {object = "first admin " .. creds.username, auth = false})
  if res.planned then
    job.stop("the console is not initialized yet, so nothing after the admin can be read: plan again once the admin exists")
  end
  log.info("created the first admin %s", creds.username)
else
  log.info("the console is already initialized")
end

local login = console.login()
if not login.ok then
  if login.status == 401 or login.status == 403 then
    job.stop(string.format("the console refused the credentials of %s (console.credentials): %s",
      creds.username, login.message ~= "" and login.message or ("HTTP " .. login.status)))
  end
  error(string.format("logging in as %s failed: HTTP %d %s", creds.username, login.status, login.message))
end
log.info("logged in as %s", creds.username)
