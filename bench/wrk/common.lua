-- Shared by the wrk scripts of bench/oidc.py: token files split between wrk threads, and
-- one JSON line of results at the end (requests, errors, latency percentiles in µs).
local common = {}

-- The lines of `path` that belong to wrk thread `index` of `count` (round-robin).
function common.lines_for_thread(path, index, count)
  local out, i = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % count == index then out[#out + 1] = line end
      i = i + 1
    end
  end
  return out
end

local threads, counter = {}, 0
common.threads = threads

-- setup(thread) for every script: number the threads so each reads its share of tokens.
function common.setup(thread)
  thread:set("thread_index", counter)
  thread:set("thread_count", tonumber(os.getenv("WRK_THREADS") or "1"))
  counter = counter + 1
  threads[#threads + 1] = thread
end

-- `extra`: more JSON members for the line (e.g. exchange.lua's status counts), or nil.
function common.done(summary, latency, requests, extra)
  local e = summary.errors
  local pct = {}
  for _, p in ipairs({50, 90, 99}) do pct[#pct + 1] = string.format('"p%d_us": %d', p, latency:percentile(p)) end
  io.write(string.format(
    'WRK_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "latency_mean_us": %.1f, "latency_max_us": %d, %s}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(pct, ", ") .. (extra and (", " .. extra) or "")))
end

return common
