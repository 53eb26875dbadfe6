-- admin: on a new console, sign up the first admin (console.credentials); then log in.
-- Credentials the console refuses end the run with a clear message: exit 0 by default (the
-- console may simply not be set up for this job yet), a failure with --strict.
local creds = values.console.credentials

local r = console.request{method = "GET", path = "settings/initialized", auth = false}
if r.status ~= 200 or type(r.body) ~= "table" then
  error(string.format("GET settings/initialized: unexpected answer (HTTP %d)", r.status))
end

if r.body.initialized ~= true then
  if job.mode == "plan" then
    log.info("would create the first admin %s on this new console", creds.username)
    job.stop("the console is not initialized yet, so nothing after the admin can be read: plan again once the admin exists")
  end
  console.post("signup", {username = creds.username, password = creds.password},
    {object = "first admin " .. creds.username, auth = false})
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
