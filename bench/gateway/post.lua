-- wrk script for bench/gateway.sh: POST the prompt body with the bench API key.
-- BENCH_BODY names the body file (default: prompt.json beside this script).
-- wrk counts answers with status > 399 as "Non-2xx or 3xx responses"; the
-- script defines no response() callback, which would slow wrk down.
local path = os.getenv("BENCH_BODY") or "prompt.json"
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "vigie-bench-key")
