-- POST the exchange gateway (POST /api/v1/exchange/requests) as the data user's client
-- (examples/data_user.py DataUser.fetch) does: the one bearer token WRK_TOKEN (fetched before
-- timing), JSON {"consent_id", "product", "request_id", "iat"}, round-robin over this thread's
-- share of WRK_CONSENTS (lines "consent_id product"). Each request has a fresh request_id
-- (the call's idempotency key, never reused): WRK_NONCE (one per wrk run) - thread - counter;
-- iat is os.time(). Counts requests written (`sent`) and responses by HTTP status; the
-- WRK_RESULT line adds {"sent": n, "statuses": {"200": n, ...}} (all threads).
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup

local consents, i, n, headers, nonce
sent = 0
statuses = {}

function init(args)
  consents = common.lines_for_thread(os.getenv("WRK_CONSENTS"), thread_index, thread_count)
  if #consents == 0 then consents = common.lines_for_thread(os.getenv("WRK_CONSENTS"), 0, 1) end
  i, n = thread_index, 0
  nonce = os.getenv("WRK_NONCE") .. "-" .. thread_index .. "-"
  headers = {["Content-Type"] = "application/json", ["Accept"] = "application/json",
             ["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")}
end

function request()
  i = i % #consents + 1
  n = n + 1
  sent = sent + 1
  local consent_id, product = consents[i]:match("^(%S+)%s+(%S+)$")
  local body = string.format('{"consent_id": "%s", "product": "%s", "request_id": "%s%d", "iat": %d}',
    consent_id, product, nonce, n, os.time())
  return wrk.format("POST", nil, headers, body)
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
