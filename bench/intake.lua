-- wrk script for bench/intake_ratio.sh: POST a valid enquiry, a new email address each time,
-- to whichever app wrk points at; the same body for the CRM and the minimal app.
local counter = 0
local thread_id = 0
local prefix = os.getenv("INTAKE_PREFIX") or tostring(os.time())

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

request = function()
  counter = counter + 1
  local body = string.format([[{"name":"Bench Prospect","email":"bench.%s.%d.%d@example.com","company":"Nordic Implants ApS","country":"DK","sector":"medtech","topic":"establishment","message":"We plan a European R&D site and would like to visit Aalborg.","consent":true,"policy_version":"2026-01","language":"en"}]], prefix, tid, counter)
  return wrk.format("POST", "/api/v1/enquiries", {["Content-Type"] = "application/json"}, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %.1f %d %.1f %.1f\n", summary.requests,
    summary.requests / (summary.duration / 1e6), errors,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
