-- wrk script: authenticated GET/POST mix over many services.
-- Settings come from the environment: WEBHOOKD_SIDS (a file with one SID per
-- line), WEBHOOKD_AUTH ("Basic ..."), WEBHOOKD_POST_EVERY (1 in N requests
-- is a POST that really changes the service; 0 = GETs only).
-- Counts 5xx answers per thread and reports them in done().
local sids = {}
for line in io.lines(os.getenv("WEBHOOKD_SIDS")) do sids[#sids + 1] = line end
local auth = os.getenv("WEBHOOKD_AUTH")
local post_every = tonumber(os.getenv("WEBHOOKD_POST_EVERY") or "10")
local counter = 0
local server_errors = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  counter = id * 7919  -- threads start on different services
end

function request()
  counter = counter + 1
  local sid = sids[(counter % #sids) + 1]
  local path = "/v1/Services/" .. sid .. "/Configuration/Webhooks"
  if post_every > 0 and counter % post_every == 0 then
    -- A value no other request sends: every POST is a real, durable write
    -- (a repeated value would be answered as a no-op, without touching disk).
    local url = "https%3A%2F%2Fload.example%2F" .. id .. "%2F" .. counter
    return wrk.format("POST", path, {["Authorization"] = auth,
      ["Content-Type"] = "application/x-www-form-urlencoded"}, "PreWebhookUrl=" .. url)
  end
  return wrk.format("GET", path, {["Authorization"] = auth})
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("server_errors") or 0) end
  io.write(string.format("server_errors=%d\n", total))
end
