"""rdb_build - DUMP payloads made by hand, in Python, independently of
src/rdb.c: Redis's crc64, the RDB length and string encodings, and the
compact encodings (ziplist, listpack, intset, zipmap) that Redis 7.0 loads
but no longer writes (or writes only for some sizes), so RESTORE can be
tested with every encoding, against dredis and a real Redis alike."""
import struct

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, bit-reversed
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)

RDB_VERSION = 10

T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_MODULE_2 = 7
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST = 9, 10, 11, 12, 13
T_LIST_QUICKLIST, T_STREAM, T_HASH_LISTPACK, T_ZSET_LISTPACK, T_LIST_QUICKLIST_2, T_STREAM_2 = 14, 15, 16, 17, 18, 19


def crc64(data, crc=0):
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def b(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode()
    return str(x).encode()


def length(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def string(s):
    s = b(s)
    return length(len(s)) + s


def int_string(v):
    """An integer-encoded string (RDB_ENC_INT8/16/32)."""
    if -128 <= v <= 127:
        return b"\xc0" + struct.pack("<b", v)
    if -32768 <= v <= 32767:
        return b"\xc1" + struct.pack("<h", v)
    return b"\xc2" + struct.pack("<i", v)


def lzf_literal_string(s):
    """An RDB_ENC_LZF string whose LZF stream is literal runs only."""
    s = b(s)
    out = b""
    for i in range(0, len(s), 32):
        chunk = s[i:i + 32]
        out += bytes([len(chunk) - 1]) + chunk
    return b"\xc3" + length(len(out)) + length(len(s)) + out


def footer(body, version=RDB_VERSION):
    body = body + struct.pack("<H", version)
    return body + struct.pack("<Q", crc64(body))


def payload(rdbtype, value_bytes, version=RDB_VERSION):
    return footer(bytes([rdbtype]) + value_bytes, version)


def refooter(p):
    """A payload with its checksum made right again (after a mutation)."""
    if len(p) < 10:
        return p
    return footer(p[:-10], p[-10] | (p[-9] << 8))


# ---- plain encodings ----

def plain_list(items):
    return payload(T_LIST, length(len(items)) + b"".join(string(x) for x in items))


def plain_set(items):
    return payload(T_SET, length(len(items)) + b"".join(string(x) for x in items))


def plain_hash(pairs):
    return payload(T_HASH, length(len(pairs)) + b"".join(string(f) + string(v) for f, v in pairs))


def plain_zset2(pairs):
    return payload(T_ZSET_2, length(len(pairs)) + b"".join(string(m) + struct.pack("<d", s) for m, s in pairs))


def text_score(s):
    if s == float("inf"):
        return b"\xfe"
    if s == float("-inf"):
        return b"\xff"
    if s != s:
        return b"\xfd"
    t = repr(float(s)).encode()
    return bytes([len(t)]) + t


def plain_zset1(pairs):
    return payload(T_ZSET, length(len(pairs)) + b"".join(string(m) + text_score(s) for m, s in pairs))


# ---- ziplist ----

def _zl_entry(prevlen, v):
    pl = bytes([prevlen]) if prevlen < 254 else b"\xfe" + struct.pack("<I", prevlen)
    if isinstance(v, int):
        if 0 <= v <= 12:
            enc = bytes([0xF1 + v])
        elif -128 <= v <= 127:
            enc = b"\xfe" + struct.pack("<b", v)
        elif -32768 <= v <= 32767:
            enc = b"\xc0" + struct.pack("<h", v)
        elif -(1 << 23) <= v < (1 << 23):
            enc = b"\xf0" + struct.pack("<i", v)[:3]
        elif -(1 << 31) <= v < (1 << 31):
            enc = b"\xd0" + struct.pack("<i", v)
        else:
            enc = b"\xe0" + struct.pack("<q", v)
    else:
        s = b(v)
        if len(s) < 64:
            enc = bytes([len(s)]) + s
        elif len(s) < 16384:
            enc = bytes([0x40 | (len(s) >> 8), len(s) & 0xFF]) + s
        else:
            enc = b"\x80" + struct.pack(">I", len(s)) + s
    return pl + enc


def ziplist(values):
    """values: ints are stored as ziplist integers, the rest as strings."""
    entries, prev, offsets, pos = [], 0, [], 10
    for v in values:
        e = _zl_entry(prev, v)
        offsets.append(pos)
        entries.append(e)
        pos += len(e)
        prev = len(e)
    body = b"".join(entries)
    total = 10 + len(body) + 1
    tail = offsets[-1] if offsets else 10
    return struct.pack("<IIH", total, tail, min(len(values), 65535)) + body + b"\xff"


# ---- listpack ----

def _lp_backlen(n):
    if n <= 127:
        return bytes([n])
    if n < 16383:
        return bytes([n >> 7, (n & 127) | 128])
    if n < 2097151:
        return bytes([n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128])
    if n < 268435455:
        return bytes([n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128])
    return bytes([n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                  (n & 127) | 128])


def _lp_entry(v):
    if isinstance(v, int):
        if 0 <= v <= 127:
            enc = bytes([v])
        elif -4096 <= v <= 4095:
            u = v & 0x1FFF
            enc = bytes([0xC0 | (u >> 8), u & 0xFF])
        elif -32768 <= v <= 32767:
            enc = b"\xf1" + struct.pack("<h", v)
        elif -(1 << 23) <= v < (1 << 23):
            enc = b"\xf2" + struct.pack("<i", v)[:3]
        elif -(1 << 31) <= v < (1 << 31):
            enc = b"\xf3" + struct.pack("<i", v)
        else:
            enc = b"\xf4" + struct.pack("<q", v)
    else:
        s = b(v)
        if len(s) < 64:
            enc = bytes([0x80 | len(s)]) + s
        elif len(s) < 4096:
            enc = bytes([0xE0 | (len(s) >> 8), len(s) & 0xFF]) + s
        else:
            enc = b"\xf0" + struct.pack("<I", len(s)) + s
    return enc + _lp_backlen(len(enc))


def listpack(values):
    body = b"".join(_lp_entry(v) for v in values)
    return struct.pack("<IH", 6 + len(body) + 1, min(len(values), 65535)) + body + b"\xff"


# ---- intset, zipmap ----

def intset(values, width=None):
    values = sorted(values)
    if width is None:
        width = 2
        for v in values:
            if not -32768 <= v <= 32767:
                width = 4
            if not -(1 << 31) <= v < (1 << 31):
                width = 8
    fmt = {2: "<h", 4: "<i", 8: "<q"}[width]
    return struct.pack("<II", width, len(values)) + b"".join(struct.pack(fmt, v) for v in values)


def zipmap(pairs):
    def zlen(n):
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)
    out = bytes([min(len(pairs), 254)])
    for f, v in pairs:
        f, v = b(f), b(v)
        out += zlen(len(f)) + f + zlen(len(v)) + b"\x00" + v
    return out + b"\xff"


def blob_payload(rdbtype, blob):
    return payload(rdbtype, string(blob))


def quicklist1(ziplists):
    return payload(T_LIST_QUICKLIST, length(len(ziplists)) + b"".join(string(z) for z in ziplists))


def quicklist2(nodes):
    """nodes: ("packed", listpack bytes) or ("plain", element bytes)."""
    out = length(len(nodes))
    for kind, data in nodes:
        out += length(2 if kind == "packed" else 1) + string(data)
    return payload(T_LIST_QUICKLIST_2, out)


# ---- streams ----

def stream_id(ms, seq):
    """An ID as node keys and PELs hold it: 128 bits, big endian."""
    return struct.pack(">QQ", ms, seq)


def stream_node(master, entries, master_fields=None, deleted_flags=()):
    """The listpack values of a node whose master ID is master (ms, seq):
    entries are (ms, seq, [(field, value), ...]); the master fields are the
    first entry's unless given; entries whose index is in deleted_flags are
    marked deleted. Laid out as Redis's streamAppendItem() lays them out."""
    if master_fields is None:
        master_fields = [f for f, _ in entries[0][2]]
    live = len(entries) - len(deleted_flags)
    values = [live, len(deleted_flags), len(master_fields)] + list(master_fields) + [0]
    for i, (ms, seq, fv) in enumerate(entries):
        same = [f for f, _ in fv] == list(master_fields)
        flags = (2 if same else 0) | (1 if i in deleted_flags else 0)
        values += [flags, ms - master[0], (seq - master[1] + (1 << 63)) % (1 << 64) - (1 << 63)]
        if not same:
            values.append(len(fv))
        for f, v in fv:
            if not same:
                values.append(f)
            values.append(v)
        values.append(len(fv) + 3 + (0 if same else len(fv) + 1))
    return values


def stream_payload(nodes, length_, last_id, first_id=(0, 0), max_deleted=(0, 0), entries_added=None, groups=(),
                   rdbtype=T_STREAM_2):
    """nodes: (master (ms, seq), listpack bytes); groups: dicts with name,
    last_id, entries_read, pel [(ms, seq, delivery_time, count)], consumers
    [(name, seen_time, [(ms, seq), ...])]."""
    out = length(len(nodes))
    for master, lp in nodes:
        out += string(stream_id(*master)) + string(lp)
    out += length(length_) + length(last_id[0]) + length(last_id[1])
    if rdbtype == T_STREAM_2:
        out += length(first_id[0]) + length(first_id[1]) + length(max_deleted[0]) + length(max_deleted[1])
        out += length(length_ if entries_added is None else entries_added)
    out += length(len(groups))
    for g in groups:
        out += string(g["name"]) + length(g["last_id"][0]) + length(g["last_id"][1])
        if rdbtype == T_STREAM_2:
            out += length(g.get("entries_read", 0) % (1 << 64))
        out += length(len(g["pel"]))
        for ms, seq, when, count in g["pel"]:
            out += stream_id(ms, seq) + struct.pack("<q", when) + length(count)
        out += length(len(g["consumers"]))
        for name, seen, owned in g["consumers"]:
            out += string(name) + struct.pack("<q", seen) + length(len(owned))
            for ms, seq in owned:
                out += stream_id(ms, seq)
    return payload(rdbtype, out)
