-- GET the userinfo endpoint with bearer access tokens (RFC 6750 §2.1), round-robin over this
-- thread's share of WRK_TOKENS.
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup
done = common.done

local tokens, i

function init(args)
  tokens = common.lines_for_thread(os.getenv("WRK_TOKENS"), thread_index, thread_count)
  i = 0
end

function request()
  i = i % #tokens + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[i]})
end
