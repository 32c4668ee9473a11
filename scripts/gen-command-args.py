#!/usr/bin/env python3
"""gen-command-args.py [OUT] - write src/command_args.c: the COMMAND DOCS
entry of every command and subcommand (summary, since, group, complexity,
doc_flags, history, arguments, ...: all but "subcommands"), as a real
Redis 7.0 gives them (redis-cli builds its hints and HELP lines from the
arguments). Starts the
redis-server on PATH (Debian's redis-server, 7.0) on a free loopback port
with no persistence, asks HELLO 3 / COMMAND DOCS, and keeps each
entry's fields as the exact RESP3 bytes Redis sent (order included);
commands.c replays them in the client's protocol. Run it again when a
command is added: a command missing from the file answers from its command table entry."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src",
                                                          "command_args.c")


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def line(self):
        end = self.data.index(b"\r\n", self.pos)
        line = self.data[self.pos:end]
        self.pos = end + 2
        return line

    def value(self):
        """Parse one RESP3 value; returns (python value, raw bytes)."""
        start = self.pos
        line = self.line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            v = rest
        elif t == b"$":
            n = int(rest)
            v = self.data[self.pos:self.pos + n]
            self.pos += n + 2
        elif t in (b"*", b"~"):
            v = [self.value()[0] for _ in range(int(rest))]
        elif t == b"%":
            v = {}  # a map keeps its values' raw bytes too: key -> (value, raw)
            for _ in range(int(rest)):
                k = self.value()[0]
                v[k] = self.value()
        else:
            raise ValueError("unexpected RESP3 type %r" % line)
        return v, self.data[start:self.pos]


def command_reply(port, sub):
    """COMMAND <sub>'s reply (RESP3) from the server on port."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$7\r\nCOMMAND\r\n$%d\r\n%s\r\n" % (len(sub), sub))
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
        try:
            r = Reader(data)
            r.value()
            return r.value()[0]
        except (ValueError, IndexError):
            continue
    raise SystemExit("connection closed before COMMAND %s's reply" % sub.decode())


def command_docs(port):
    return command_reply(port, b"DOCS")


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def collect(name, spec, out):
    """spec: a map of (value, raw) pairs. out[name] = (number of fields,
    the fields but "subcommands" as RESP3 key/value pairs)."""
    fields = [(k, v) for k, v in spec.items() if k != b"subcommands"]
    out[name] = (len(fields), b"".join(bulk(k) + raw for k, (_, raw) in fields))
    if b"subcommands" in spec:
        for sub, (subspec, _) in spec[b"subcommands"][0].items():
            collect(sub.decode(), subspec, out)


def c_string(raw, width=100):
    """raw as C string literals, split after a RESP line near width."""
    def esc(part):
        out = []
        for b in part:
            ch = chr(b)
            if ch == "\r":
                out.append("\\r")
            elif ch == "\n":
                out.append("\\n")
            elif ch in "\\\"":
                out.append("\\" + ch)
            elif 32 <= b < 127:
                out.append(ch)
            else:
                out.append("\\%03o" % b)
        return "".join(out)
    pieces = [esc(p + b"\r\n") for p in raw.split(b"\r\n")[:-1]]
    lines, cur = [], ""
    for p in pieces:
        if cur and len(cur) + len(p) > width:
            lines.append(cur)
            cur = ""
        cur += p
    lines.append(cur)
    return "\n     ".join('"%s"' % l for l in lines)


def ask_redis(ask, prefix="gen-command-args-"):
    """Start the redis-server on PATH on a free loopback port with no
    persistence, call ask(port) once it answers, stop it; returns
    (redis version, what ask returned)."""
    server = shutil.which("redis-server")
    if not server:
        raise SystemExit("redis-server (Debian package redis-server) is needed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix=prefix)
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                version = subprocess.run(["redis-cli", "-p", str(port), "info", "server"], capture_output=True,
                                         timeout=5).stdout
                if b"redis_version:" in version:
                    break
            except (OSError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.05)
        version = [l for l in version.decode().splitlines() if l.startswith("redis_version:")][0].split(":")[1]
        return version, ask(port)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    version, docs = ask_redis(command_docs)
    args = {}
    for name, (spec, _) in docs.items():
        collect(name.decode(), spec, args)
    lines = ["/* command_args.c - GENERATED by scripts/gen-command-args.py from Redis %s's" % version,
             " * COMMAND DOCS: each command's and subcommand's fields but \"subcommands\" as the",
             " * RESP3 bytes Redis sent (key/value pairs), sorted by name for commandRedisDocs().",
             " * Do not edit. */",
             '#include "server.h"',
             "#include <stdlib.h>",
             "#include <string.h>",
             "",
             "static const struct commandArgs {",
             "    const char *name;",
             "    int fields;",
             "    const char *resp3;",
             "} command_args[] = {"]
    for name in sorted(args):
        lines.append("    {\"%s\", %d,\n     %s}," % (name, args[name][0], c_string(args[name][1])))
    lines += ["};",
              "",
              "static int cmpArgs(const void *key, const void *elem) {",
              "    return strcmp((const char *)key, ((const struct commandArgs *)elem)->name);",
              "}",
              "",
              "const char *commandRedisDocs(const char *fullname, int *fields) {",
              "    const struct commandArgs *a = bsearch(fullname, command_args, sizeof(command_args) / sizeof(command_args[0]),",
              "                                          sizeof(command_args[0]), cmpArgs);",
              "    if (!a) return NULL;",
              "    *fields = a->fields;",
              "    return a->resp3;",
              "}",
              ""]
    with open(OUT, "w") as f:
        f.write("\n".join(lines))
    print("%s: %d commands and subcommands" % (OUT, len(args)))


if __name__ == "__main__":
    main()
