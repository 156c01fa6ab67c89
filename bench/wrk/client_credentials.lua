-- POST the token endpoint: grant_type=client_credentials, client_secret_basic (RFC 6749 §4.4).
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup
done = common.done
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("WRK_BASIC")
wrk.body = "grant_type=client_credentials&scope=" .. (os.getenv("WRK_SCOPE") or "")
