-- cmsgpack.lua - MessagePack for scripts, with the API and the encoding
-- choices of the lua_cmsgpack library Redis ships: pack(...) (each argument
-- in turn, concatenated), unpack(s) (every value in s), unpack_one(s [,
-- offset]) and unpack_limit(s, limit [, offset]) (next offset first, -1 at
-- the end). Integral numbers are packed as the smallest integer type, other
-- numbers as float 32 when exact, else float 64; a table whose keys are
-- exactly 1..n is an array, any other a map; tables nested 16 deep and
-- values of other types are packed as nil.
--
-- Runs once when the interpreter is built, with the real globals and the
-- internal helpers (see compat.lua); returns the module table.
local G, internal = ...
local wrap, raise = internal.wrap, internal.raise
local string, math = G.string, G.math
local spack, sunpack, schar, sbyte = string.pack, string.unpack, string.char, string.byte
local mtype, tointeger, floor, huge = math.type, math.tointeger, math.floor, math.huge
local type, next, select, error, tconcat, tunpack, sformat =
  G.type, G.next, G.select, G.error, G.table.concat, G.table.unpack, string.format
local rawget, rawlen = G.rawget, G.rawlen

local MAX_NESTING = 16

local encode -- forward

local function encode_integer(n, buf)
  local b
  if n >= 0 then
    if n <= 127 then b = schar(n)
    elseif n <= 0xff then b = schar(0xcc, n)
    elseif n <= 0xffff then b = spack('>BI2', 0xcd, n)
    elseif n <= 0xffffffff then b = spack('>BI4', 0xce, n)
    else b = spack('>Bi8', 0xcf, n)
    end
  else
    if n >= -32 then b = schar(n & 0xff)
    elseif n >= -128 then b = spack('>Bi1', 0xd0, n)
    elseif n >= -32768 then b = spack('>Bi2', 0xd1, n)
    elseif n >= -2147483648 then b = spack('>Bi4', 0xd2, n)
    else b = spack('>Bi8', 0xd3, n)
    end
  end
  buf[#buf + 1] = b
end

local function encode_number(n, buf)
  if mtype(n) == 'integer' then return encode_integer(n, buf) end
  if n == floor(n) and n >= -9.2233720368547758e18 and n < 9.2233720368547758e18 then
    return encode_integer(tointeger(n), buf)
  end
  -- float 32 when it holds the value exactly (NaN never does)
  local f = spack('>f', n)
  if sunpack('>f', f) == n then
    buf[#buf + 1] = '\202' .. f
  else
    buf[#buf + 1] = '\203' .. spack('>d', n)
  end
end

local function encode_string(s, buf)
  local len = #s
  local h
  if len < 32 then h = schar(0xa0 | len)
  elseif len <= 0xff then h = schar(0xd9, len)
  elseif len <= 0xffff then h = spack('>BI2', 0xda, len)
  else h = spack('>BI4', 0xdb, len)
  end
  buf[#buf + 1] = h
  buf[#buf + 1] = s
end

local function is_array(t)
  local count, max = 0, 0
  for k in next, t do
    if mtype(k) ~= 'integer' or k <= 0 then return false end
    if k > max then max = k end
    count = count + 1
  end
  return max == count
end

local function encode_table(t, buf, level)
  if is_array(t) then
    local len = rawlen(t)
    if len <= 15 then buf[#buf + 1] = schar(0x90 | len)
    elseif len <= 0xffff then buf[#buf + 1] = spack('>BI2', 0xdc, len)
    else buf[#buf + 1] = spack('>BI4', 0xdd, len)
    end
    for i = 1, len do encode(rawget(t, i), buf, level + 1) end
  else
    local len = 0
    for _ in next, t do len = len + 1 end
    if len <= 15 then buf[#buf + 1] = schar(0x80 | len)
    elseif len <= 0xffff then buf[#buf + 1] = spack('>BI2', 0xde, len)
    else buf[#buf + 1] = spack('>BI4', 0xdf, len)
    end
    for k, v in next, t do
      encode(k, buf, level + 1)
      encode(v, buf, level + 1)
    end
  end
end

encode = function(v, buf, level)
  local t = type(v)
  if t == 'table' and level == MAX_NESTING then t = 'nil' end
  if t == 'string' then encode_string(v, buf)
  elseif t == 'boolean' then buf[#buf + 1] = v and '\195' or '\194'
  elseif t == 'number' then encode_number(v, buf)
  elseif t == 'table' then encode_table(v, buf, level)
  else buf[#buf + 1] = '\192'
  end
end

local function pack(...)
  local n = select('#', ...)
  if n == 0 then raise("bad argument #0 to 'pack' (MessagePack pack needs input.)") end
  local buf = {}
  for i = 1, n do encode((select(i, ...)), buf, 0) end
  return tconcat(buf)
end

-- Decoding: a cursor {s = string, pos = next byte, err = nil|'eof'|'bad'}.

local decode -- forward

local function need(c, n)
  if #c.s - c.pos + 1 < n then
    c.err = 'eof'
    return false
  end
  return true
end

local function take(c, fmt, size)
  if not need(c, size) then return nil end
  local v = sunpack(fmt, c.s, c.pos)
  c.pos = c.pos + size
  return v
end

local function take_string(c, len)
  if not need(c, len) then return nil end
  local v = c.s:sub(c.pos, c.pos + len - 1)
  c.pos = c.pos + len
  return v
end

local function decode_array(c, len)
  local t = {}
  for i = 1, len do
    local v = decode(c)
    if c.err then return t end
    t[i] = v
  end
  return t
end

local function decode_map(c, len)
  local t = {}
  for _ = 1, len do
    local k = decode(c)
    if c.err then return t end
    local v = decode(c)
    if c.err then return t end
    -- as lua_settable would fail in C: no position of this file
    if k == nil then error('table index is nil', 0) end
    if k ~= k then error('table index is NaN', 0) end
    t[k] = v
  end
  return t
end

decode = function(c)
  if not need(c, 1) then return nil end
  local b = sbyte(c.s, c.pos)
  c.pos = c.pos + 1
  if b <= 0x7f then return b
  elseif b >= 0xe0 then return b - 256
  elseif b >= 0xa0 and b <= 0xbf then return take_string(c, b & 0x1f)
  elseif b >= 0x90 and b <= 0x9f then return decode_array(c, b & 0x0f)
  elseif b >= 0x80 and b <= 0x8f then return decode_map(c, b & 0x0f)
  elseif b == 0xc0 then return nil
  elseif b == 0xc2 then return false
  elseif b == 0xc3 then return true
  elseif b == 0xcc then return take(c, '>I1', 1)
  elseif b == 0xcd then return take(c, '>I2', 2)
  elseif b == 0xce then return take(c, '>I4', 4)
  elseif b == 0xcf then return take(c, '>i8', 8) -- as Redis: lua_pushinteger of the uint64
  elseif b == 0xd0 then return take(c, '>i1', 1)
  elseif b == 0xd1 then return take(c, '>i2', 2)
  elseif b == 0xd2 then return take(c, '>i4', 4)
  elseif b == 0xd3 then return take(c, '>i8', 8)
  elseif b == 0xca then return take(c, '>f', 4)
  elseif b == 0xcb then return take(c, '>d', 8)
  elseif b == 0xd9 then
    local len = take(c, '>I1', 1)
    return len and take_string(c, len)
  elseif b == 0xda then
    local len = take(c, '>I2', 2)
    return len and take_string(c, len)
  elseif b == 0xdb then
    local len = take(c, '>I4', 4)
    return len and take_string(c, len)
  elseif b == 0xdc then
    local len = take(c, '>I2', 2)
    return len and decode_array(c, len)
  elseif b == 0xdd then
    local len = take(c, '>I4', 4)
    return len and decode_array(c, len)
  elseif b == 0xde then
    local len = take(c, '>I2', 2)
    return len and decode_map(c, len)
  elseif b == 0xdf then
    local len = take(c, '>I4', 4)
    return len and decode_map(c, len)
  end
  c.err = 'bad'
  return nil
end

local function checkstring(s, fname)
  local t = type(s)
  if t == 'number' then return G.tostring(s) end
  if t ~= 'string' then
    raise(sformat("bad argument #1 to '%s' (string expected, got %s)", fname, s == nil and 'no value' or t))
  end
  return s
end

local function checkint(v, n, fname, default)
  if v == nil and default then return default end
  if type(v) == 'string' then v = G.tonumber(v) end
  if type(v) ~= 'number' then
    raise(sformat("bad argument #%d to '%s' (number expected, got %s)", n, fname, v == nil and 'no value' or type(v)))
  end
  if v ~= v or v == huge or v == -huge then return 0 end
  return v >= 0 and floor(v) or -floor(-v)
end

local function unpack_full(s, limit, offset)
  local len = #s
  local decode_all = limit == 0 and offset == 0
  if offset < 0 or limit < 0 then
    raise(sformat('Invalid request to unpack with offset of %d and limit of %d.', offset, len))
  elseif offset > len then
    raise(sformat('Start offset %d greater than input length %d.', offset, len))
  end
  if decode_all then limit = huge end
  local c = {s = s, pos = offset + 1}
  local out, cnt = {}, 0
  while c.pos <= len and cnt < limit do
    local v = decode(c)
    if c.err == 'eof' then raise('Missing bytes in input.') end
    if c.err == 'bad' then raise('Bad data format in input.') end
    cnt = cnt + 1
    out[cnt] = v
  end
  if not decode_all then
    local left = len - c.pos + 1
    return left == 0 and -1 or (c.pos - 1), tunpack(out, 1, cnt)
  end
  return tunpack(out, 1, cnt)
end

local function unpack(s)
  return unpack_full(checkstring(s, 'unpack'), 0, 0)
end

local function unpack_one(s, offset)
  s = checkstring(s, 'unpack_one')
  return unpack_full(s, 1, checkint(offset, 2, 'unpack_one', 0))
end

local function unpack_limit(s, limit, offset)
  s = checkstring(s, 'unpack_limit')
  local l = checkint(limit, 2, 'unpack_limit')
  return unpack_full(s, l, checkint(offset, 3, 'unpack_limit', 0))
end

return {
  pack = wrap(pack),
  unpack = wrap(unpack),
  unpack_one = wrap(unpack_one),
  unpack_limit = wrap(unpack_limit),
  _NAME = 'lua-cmsgpack',
  _VERSION = 'lua-cmsgpack 0.4.0',
  _COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo',
  _DESCRIPTION = 'MessagePack C implementation for Lua',
}
