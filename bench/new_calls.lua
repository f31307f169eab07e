-- wrk script for bench/webhooks.py: posts pre-signed requests of NEW calls (one fresh
-- CallSid each, read from the file named after `--`) and counts answers that are
-- not a welcome menu (an apology is HTTP 200 too, so the status alone proves nothing).

local requests = {}
local position = 0
bad_answers = 0 -- globals, so that done() can read them from each thread

function init(args)
  for line in io.lines(args[1]) do
    local signature, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", wrk.path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["User-Agent"] = "TwilioProxy/1.1",
      ["X-Twilio-Signature"] = signature,
      ["I-Twilio-Idempotency-Token"] = token,
    }, body)
  end
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status ~= 200 or not body:find("<Gather", 1, true) then
    bad_answers = bad_answers + 1
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, _requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad_answers")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d bad_answers=%d socket_errors=%d " ..
    "p50_us=%d p95_us=%d p99_us=%d\n",
    summary.requests, summary.duration, bad,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99)))
end
