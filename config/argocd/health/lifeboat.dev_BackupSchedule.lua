-- Argo CD health check for lifeboat.dev/BackupSchedule (docs/gitops.md).
-- A schedule has no phase: its Ready condition, spec.suspend and its last
-- run say how it is. Progressing: no status yet, the status behind the spec
-- (observedGeneration). Degraded: Ready=False (InvalidSpec: the cron
-- expression or the time zone), or its latest run Failed. Suspended:
-- spec.suspend. Healthy: Ready=True and the latest run not Failed (a run in
-- progress keeps the schedule Healthy: a sync does not wait for a backup).
-- Lua 5.1 (Argo CD runs it with gopher-lua).
local hs = {}
local function condition(st, t)
  if st == nil or type(st.conditions) ~= "table" then return nil end
  for _, c in ipairs(st.conditions) do
    if c.type == t then return c end
  end
  return nil
end
local function say(text, fallback)
  if text ~= nil and text ~= "" then return text end
  return fallback
end
local st = obj.status
local gen = obj.metadata and obj.metadata.generation
local ready = condition(st, "Ready")
if st == nil or ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Lifeboat operator to pick up this schedule"
  return hs
end
if gen ~= nil and (st.observedGeneration == nil or st.observedGeneration < gen) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Lifeboat operator to observe generation " .. tostring(gen)
  return hs
end
local text = say(st.message, ready.message or "")
local last = st.lastBackup
if ready.status ~= "True" then
  hs.status = "Degraded"
  hs.message = say(ready.reason, "NotReady") .. ": " .. say(text, "see kubectl describe")
elseif obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Suspended: no new runs" .. (last and last.name and ("; the latest is " .. last.name .. " (" .. tostring(last.phase) .. ")") or "")
elseif last ~= nil and last.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = "The latest run " .. tostring(last.name) .. " Failed (kubectl describe dbb " .. tostring(last.name) .. "); the next is due " .. say(st.nextScheduleTime, "later")
else
  hs.status = "Healthy"
  local m = say(text, "Scheduled")
  if last ~= nil and last.name ~= nil then m = m .. "; the latest run is " .. last.name .. " (" .. tostring(last.phase) .. ")" end
  hs.message = m
end
return hs
