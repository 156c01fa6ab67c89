-- GET a list of paths round-robin (bench/opendata.py): WRK_PATHS is a file of lines
-- "path" or "path<TAB>etag"; with an etag the request carries If-None-Match (a conditional
-- GET answered 304). Each wrk thread starts at its own offset. Counts responses by HTTP
-- status; the WRK_RESULT line adds {"sent": n, "statuses": {"200": n, ...}} (all threads).
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup

local lines, i
sent = 0
statuses = {}

function init(args)
  lines = common.lines_for_thread(os.getenv("WRK_PATHS"), 0, 1)
  i = thread_index
end

function request()
  i = i % #lines + 1
  sent = sent + 1
  local path, etag = lines[i]:match("^([^\t]+)\t?(.*)$")
  local headers = {["Accept"] = "application/json", ["Accept-Encoding"] = "identity"}
  if etag ~= nil and etag ~= "" then headers["If-None-Match"] = etag end
  return wrk.format("GET", path, headers)
end

function response(status, hdrs, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local total_sent, counts = 0, {}
  for _, thread in ipairs(common.threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    for status, count in pairs(thread:get("statuses") or {}) do counts[status] = (counts[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(counts) do parts[#parts + 1] = string.format('"%s": %d', status, count) end
  common.done(summary, latency, requests,
    string.format('"sent": %d, "statuses": {%s}', total_sent, table.concat(parts, ", ")))
end
