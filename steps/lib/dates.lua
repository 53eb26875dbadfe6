-- Dates for steps: RFC 3339 parsing to Unix time, without the host's time zone.
local M = {}

-- Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

--- Parses an RFC 3339 timestamp ("2027-01-31T12:00:00Z", "…+02:00", fractions allowed).
---@param text string
---@return integer|nil seconds since the Unix epoch, or nil when `text` is not RFC 3339
function M.parse_rfc3339(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = text:match("^(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset
  if rest == "Z" or rest == "z" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
end

--- Whether a date field holds no date: nil, null, "", or Go's zero time (a Go server marshals
--- an unset time.Time as "0001-01-01T00:00:00Z").
function M.is_zero(text)
  if text == nil or (json ~= nil and rawequal(text, json.null)) or text == "" then return true end
  return type(text) == "string" and text:match("^0001%-01%-01[Tt ]00:00:00") ~= nil
end

--- The current Unix time (UTC).
function M.now()
  return os.time()
end

return M
