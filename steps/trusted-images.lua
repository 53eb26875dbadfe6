-- trusted-images: one trust group and one trust rule (trust/data, trust.Data), from
-- `console.trustedImages`: name [BigBang-Trusted], registryMatches, defaultEffect [alert].
--
-- * Group: `_id` = name, `images` = registryMatches (in that order); other fields kept.
-- * Rule: same name, allows that group, collections All, effect defaultEffect (alert or
--   block). A new rule goes first; existing rules never move. On an existing rule of that name
--   the effect is set, the group added to allowedGroups when missing (other allowed groups
--   kept), and collections set to All unless they are exactly All already.
-- * The trust policy is enabled.
-- * Every other group and rule is kept as the console has it. Read once (GET trust/data),
--   written once (PUT trust/data, the whole object) and only when something changed.

local tables = require("tables")
local trust = require("settings_trust")
local fields = require("settings_fields")
local answers = require("answers")

local spec, problems = trust.spec(fields.lookup(values, "console.trustedImages"))
fields.fail_on(problems, "trusted-images")

local current = answers.get_object("trust/data", { null_is_empty = true })
local body = tables.copy(current)
local changes = trust.apply(body, spec)

if #changes == 0 then
  log.info("trusted images %s unchanged (%d image patterns, effect %s)", spec.name, #spec.images, spec.effect)
  return
end
local res = console.put("trust/data", body, { before = current, object = "trust data" })
-- The changes are written as done ("created trust group X"); a plan says what it would do.
local function planned(text)
  for done, todo in pairs({["created "] = "would create ", ["set "] = "would set ", ["enabled "] = "would enable "}) do
    if text:sub(1, #done) == done then return todo .. text:sub(#done + 1) end
  end
  return (text:gsub(" now allows ", " would allow ", 1))
end
for _, c in ipairs(changes) do
  log.info("%s", res.planned and planned(c) or c)
end
