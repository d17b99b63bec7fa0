-- wrk script: POST a valid enquiry with a unique email each time (one contact per request).
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

request = function()
  counter = counter + 1
  local body = string.format([[{"name":"Bench Prospect","email":"bench.%d.%d@example.com","company":"Nordic Implants ApS","country":"DK","sector":"medtech","topic":"establishment","message":"We plan a European R&D site and would like to visit Aalborg.","consent":true,"policy_version":"2026-01","language":"en"}]], tid, counter)
  return wrk.format("POST", "/api/v1/enquiries", {["Content-Type"] = "application/json"}, body)
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("requests: %d, non-2xx/3xx: %d, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
