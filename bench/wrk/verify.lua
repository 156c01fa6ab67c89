-- POST 認證易's verification API (POST /api/v1/credentials/verify) with JSON bodies, one per
-- line of WRK_BODIES ({"presentation": ..., "nonce": ...}), round-robin over this thread's share.
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup
done = common.done

local bodies, i

function init(args)
  bodies = common.lines_for_thread(os.getenv("WRK_BODIES"), thread_index, thread_count)
  i = 0
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
