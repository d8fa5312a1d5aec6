-- tests/gitops/health.lua OBJECT.lua SCRIPT.lua: runs an Argo CD health
-- script as Argo CD does (the global obj holds the resource; the script's
-- chunk returns hs) and prints hs.status, a tab and hs.message on one line.
-- Exit 1 when the script fails to load or run or returns no valid status.
local objfile, script = arg[1], arg[2]
if objfile == nil or script == nil then
  io.stderr:write("usage: lua5.1 health.lua OBJECT.lua SCRIPT.lua\n")
  os.exit(2)
end
dofile(objfile)
if type(obj) ~= "table" then
  io.stderr:write(objfile .. ": does not set obj to a table\n")
  os.exit(1)
end
local chunk, err = loadfile(script)
if chunk == nil then
  io.stderr:write(err .. "\n")
  os.exit(1)
end
local ok, hs = pcall(chunk)
if not ok then
  io.stderr:write(script .. ": " .. tostring(hs) .. "\n")
  os.exit(1)
end
local valid = {Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true}
if type(hs) ~= "table" or not valid[hs.status] then
  io.stderr:write(script .. ": returned no valid hs.status\n")
  os.exit(1)
end
if type(hs.message) ~= "string" then
  io.stderr:write(script .. ": returned no hs.message string\n")
  os.exit(1)
end
print(hs.status .. "\t" .. string.gsub(hs.message, "\n", " "))
