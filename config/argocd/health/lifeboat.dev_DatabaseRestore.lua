-- Argo CD health check for lifeboat.dev/DatabaseRestore (docs/gitops.md).
-- Healthy: Completed. Progressing: no status yet, the status behind the
-- spec (observedGeneration), Pending, SafetyBackup, Restoring, and a
-- refusal that waits by itself (BackupNotCompleted while the backup still
-- runs). Degraded: Failed (the message says whether the target was left
-- unchanged), and the refusals that wait for a person: InvalidSpec,
-- ConfirmationMismatch, BackupNotFound, BackupNotCompleted of a finished
-- backup, SchemaMismatch, PodNotStarting. Lua 5.1 (gopher-lua in Argo CD).
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
  hs.message = "Waiting for the Lifeboat operator to pick up this restore"
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
local refused = {InvalidSpec = true, ConfirmationMismatch = true, BackupNotFound = true,
  BackupNotCompleted = true, SchemaMismatch = true, PodNotStarting = true}
if st.phase == "Completed" then
  hs.status = "Healthy"
  hs.message = say(text, "Completed")
elseif st.phase == "Failed" then
  local target = ""
  if st.targetUnchanged == true then
    target = " (the target database was left unchanged)"
  elseif st.targetUnchanged == false then
    target = " (the target database may have been changed)"
  end
  hs.status = "Degraded"
  hs.message = "Failed (" .. say(reason, "no reason") .. ")" .. target .. ": " .. say(text, "see kubectl describe")
elseif reason == "BackupNotCompleted" and string.find(text, "starts once it is Completed", 1, true) then
  hs.status = "Progressing"
  hs.message = st.phase .. ": " .. text
elseif refused[reason] then
  hs.status = "Degraded"
  hs.message = st.phase .. " (" .. reason .. "): " .. say(text, "see kubectl describe")
elseif st.phase == "Pending" or st.phase == "SafetyBackup" or st.phase == "Restoring" then
  hs.status = "Progressing"
  hs.message = st.phase .. ": " .. say(text, say(reason, st.phase))
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(st.phase)
end
return hs
