-- POST the token endpoint: grant_type=refresh_token (RFC 6749 §6). Refresh tokens rotate on
-- every use, so each thread keeps a queue: a request takes a token, its response gives back
-- the new one. The queue starts with this thread's share of WRK_TOKENS (more tokens than
-- connections); a failed refresh loses its token and is counted as an error.
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup
done = common.done

local queue, head, tail, basic

function init(args)
  queue = common.lines_for_thread(os.getenv("WRK_TOKENS"), thread_index, thread_count)
  head, tail = 1, #queue
  basic = "Basic " .. os.getenv("WRK_BASIC")
end

function request()
  local token = "exhausted"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = basic},
    "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
  end
end
