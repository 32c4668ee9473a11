-- compat.lua - Lua 5.1 on top of Lua 5.4, as far as Redis scripts can tell:
-- the 5.1 names scripts use (unpack, table.getn, string.gfind, ...), 5.1
-- number formatting where 5.4 would print 5.0 as "5.0" (string.format,
-- table.concat), integral JSON numbers decoded as integers (so they print
-- as in 5.1), and, last, the removal of every global and library function
-- that Redis's Lua does not offer (files, the OS, modules, the debugger,
-- the 5.2-5.4 additions).
--
-- Runs once when the interpreter is built, with the real globals table and
-- the internal helpers (script_sandbox.c: wrap makes a function behave as a
-- C one in error reports, raise reports an error at the calling script
-- line) as its arguments, before the globals are made read-only.
local G, internal = ...
local wrap, raise_at = internal.wrap, internal.raise
local string, table, math, type, select, pcall, error = G.string, G.table, G.math, G.type, G.select, G.pcall, G.error
local next, tostring = G.next, G.tostring
local mtype, tointeger, floor, huge = math.type, math.tointeger, math.floor, math.huge
local sformat, gmatch, tunpack, tconcat = string.format, string.gmatch, table.unpack, table.concat

-- A float as Lua 5.1 prints it ("%.14g": 5.0 is "5").
local function num51(v)
  if mtype(v) == 'float' then return sformat('%.14g', v) end
  return v
end

-- Truncate a float toward zero for the integer conversions of
-- string.format, as 5.1's (int) cast did.
local function trunc(v)
  if mtype(v) ~= 'float' or v ~= v or v == huge or v == -huge then return v end
  local t = v >= 0 and floor(v) or -floor(-v)
  return tointeger(t) or v
end

-- luaL_argerror's text
local function checktable(t, n, fname)
  if type(t) ~= 'table' then
    raise_at(sformat("bad argument #%d to '%s' (table expected, got %s)", n, fname, type(t)))
  end
end

-- Errors of a 5.4 C function called from a wrapper here: reported at the
-- script line, with the function's 5.1 name.
local function raise(r, fname)
  if type(r) == 'string' then raise_at((r:gsub("to '%?'", "to '" .. fname .. "'", 1))) end
  error(r, 0)
end

-- globals
G.unpack = tunpack

-- string
string.gfind = string.gmatch
string.format = wrap(function(fmt, ...)
  local n = select('#', ...)
  if n == 0 or type(fmt) ~= 'string' then
    local ok, r = pcall(sformat, fmt, ...)
    if not ok then raise(r, 'format') end
    return r
  end
  local args, i = {...}, 0
  for conv in gmatch(fmt, '%%[-+ #0]*%d*%.?%d*(.)') do
    if conv ~= '%' then
      i = i + 1
      local v = args[i]
      if (conv == 's' or conv == 'q') and type(v) ~= 'string' and type(v) ~= 'number' and i <= n then
        raise_at(sformat("bad argument #%d to 'format' (string expected, got %s)", i + 1, type(v)))
      end
      if mtype(v) == 'float' then
        if conv == 's' or conv == 'q' then
          args[i] = num51(v)
        elseif conv == 'd' or conv == 'i' or conv == 'c' or conv == 'o' or conv == 'u' or conv == 'x' or conv == 'X' then
          args[i] = trunc(v)
        end
      end
    end
  end
  local ok, r = pcall(sformat, fmt, tunpack(args, 1, n))
  if not ok then raise(r, 'format') end
  return r
end)

-- table
table.getn = wrap(function(t)
  checktable(t, 1, 'getn')
  return #t
end)
table.setn = wrap(function()
  raise_at("'setn' is obsolete")
end)
table.maxn = wrap(function(t)
  checktable(t, 1, 'maxn')
  local max = 0
  for k in next, t do
    if type(k) == 'number' and k > max then max = k end
  end
  return max
end)
table.foreach = wrap(function(t, f)
  checktable(t, 1, 'foreach')
  for k, v in next, t do
    local r = f(k, v)
    if r ~= nil then return r end
  end
end)
table.foreachi = wrap(function(t, f)
  checktable(t, 1, 'foreachi')
  for i = 1, #t do
    local r = f(i, t[i])
    if r ~= nil then return r end
  end
end)
table.concat = wrap(function(t, sep, i, j)
  if type(t) == 'table' then
    local first, last = i or 1, j or #t
    if type(first) == 'number' and type(last) == 'number' then
      for k = first, last do
        if mtype(t[k]) == 'float' then
          local copy = {}
          for m = first, last do copy[m] = num51(t[m]) end
          t, i, j = copy, first, last
          break
        end
      end
    end
  end
  local ok, r = pcall(tconcat, t, sep, i, j)
  if not ok then raise(r, 'concat') end
  return r
end)

-- cjson: JSON numbers come back as 5.4 floats; integral ones become
-- integers so that they print (and concatenate) as in 5.1.
do
  local cjson = G.cjson
  local decode = cjson.decode
  local function fix(v)
    local tv = type(v)
    if tv == 'number' then
      if mtype(v) == 'float' and v == floor(v) and v >= -9.2233720368547758e18 and v < 9.2233720368547758e18
        and (v ~= 0 or 1 / v > 0) then -- not -0
        return tointeger(v)
      end
    elseif tv == 'table' then
      for k, x in next, v do
        local y = fix(x)
        if y ~= x or mtype(y) ~= mtype(x) then v[k] = y end
      end
    end
    return v
  end
  cjson.decode = wrap(function(...)
    local ok, r = pcall(decode, ...)
    if not ok then raise(r, 'decode') end
    return fix(r)
  end)
end

-- What Redis's Lua does not have.
local allowed = {
  _G = true, _VERSION = true, __redis__err__handler = true, assert = true, bit = true, cjson = true,
  cmsgpack = true, collectgarbage = true, coroutine = true, error = true, gcinfo = true,
  getmetatable = true, ipairs = true, load = true, loadstring = true, math = true, next = true,
  pairs = true, pcall = true, rawequal = true, rawget = true, rawset = true, redis = true,
  select = true, setmetatable = true, string = true, struct = true, table = true, tonumber = true,
  tostring = true, type = true, unpack = true, xpcall = true,
}
local drop = {}
for k in next, G do
  if not allowed[k] then drop[#drop + 1] = k end
end
for _, k in G.ipairs(drop) do G[k] = nil end
for _, k in G.ipairs({'pack', 'packsize', 'unpack'}) do string[k] = nil end
for _, k in G.ipairs({'move', 'pack', 'unpack'}) do table[k] = nil end
for _, k in G.ipairs({'tointeger', 'type', 'ult', 'maxinteger', 'mininteger'}) do math[k] = nil end
for _, k in G.ipairs({'close', 'isyieldable'}) do G.coroutine[k] = nil end
G._VERSION = 'Lua 5.1'
return true
