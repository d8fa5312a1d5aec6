-- Argo CD health check for lifeboat.dev/DatabaseBackup (docs/gitops.md).
-- Healthy: Completed. Progressing: no status yet, the status behind the
-- spec (observedGeneration), Pending, Running, Verifying, Deleting, a pod
-- waiting for a node. Degraded: Failed, and the states that wait for a
-- person: InvalidSpec, PodNotStarting (a missing Secret, a bad image),
-- DeleteFailed. Lua 5.1 (Argo CD runs it with gopher-lua).
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
if st == nil or st.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Lifeboat operator to pick up this backup"
  return hs
end
if gen ~= nil and (st.observedGeneration == nil or st.observedGeneration < gen) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Lifeboat operator to observe generation " .. tostring(gen)
  return hs
end
local ready = condition(st, "Ready")
local reason = ready and ready.reason or ""
local text = say(st.message, ready and ready.message or "")
if st.phase == "Completed" then
  hs.status = "Healthy"
  hs.message = say(text, "Completed")
elseif st.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = "Failed (" .. say(reason, "no reason") .. "): " .. say(text, "see kubectl describe")
elseif reason == "InvalidSpec" or reason == "PodNotStarting" or reason == "DeleteFailed" then
  hs.status = "Degraded"
  hs.message = st.phase .. " (" .. reason .. "): " .. say(text, "see kubectl describe")
elseif st.phase == "Pending" or st.phase == "Running" or st.phase == "Verifying" or st.phase == "Deleting" then
  hs.status = "Progressing"
  hs.message = st.phase .. ": " .. say(text, say(reason, st.phase))
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(st.phase)
end
return hs
