"""docs/commands.md is generated from the command table by
scripts/gen-commands-doc: it must be up to date, and every command must
document itself (summary and complexity in COMMAND DOCS, as Redis 7.0
gives them where it has the command)."""
import difflib
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile

import dredis_test

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(TOP, "scripts", "gen-commands-doc")
DOC = os.path.join(TOP, "docs", "commands.md")


def load_script():
    loader = importlib.machinery.SourceFileLoader("gen_commands_doc", SCRIPT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_commands_doc_up_to_date():
    fd, out = tempfile.mkstemp(prefix="dredis-commands-", suffix=".md")
    os.close(fd)
    try:
        env = dict(os.environ, DREDIS_SERVER=os.path.abspath(dredis_test.DREDIS_SERVER))
        subprocess.run([sys.executable, SCRIPT, "-o", out], env=env, check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with open(out) as f:
            want = f.read()
    finally:
        os.unlink(out)
    have = open(DOC).read() if os.path.exists(DOC) else ""
    if have != want:
        diff = list(difflib.unified_diff(have.splitlines(), want.splitlines(), "docs/commands.md",
                                         "generated", lineterm="", n=1))
        raise AssertionError("docs/commands.md is out of date: run scripts/gen-commands-doc "
                             "(DREDIS_SERVER=path/to/dredis-server when not in build/) and commit it.\n"
                             + "\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else ""))


def test_every_command_documents_itself():
    gen = load_script()
    docs, info = gen.collect(dredis_test.DREDIS_SERVER)
    assert docs, "COMMAND DOCS returned no command"
    # COMMAND DOCS gives Redis 7.0's own fields where Redis has the command,
    # and Redis documents a few (MONITOR, SYNC, PSYNC) with no complexity
    with dredis_test.Redis() as r, r.client() as c:
        redis_docs = gen.flatten_docs(c.execute("COMMAND", "DOCS"), {})
    no_complexity = {n for n, d in redis_docs.items() if not (d.get("complexity") or "").strip()}
    problems = []
    for name in sorted(set(docs) | set(info)):
        if name not in docs:
            problems.append("%s: in COMMAND INFO but not in COMMAND DOCS" % name)
            continue
        if name not in info:
            problems.append("%s: in COMMAND DOCS but not in COMMAND INFO" % name)
        for field in ("summary", "complexity", "since", "group"):
            if not (docs[name].get(field) or "").strip() and not (field == "complexity" and name in no_complexity):
                problems.append("%s: no %s" % (name, field))
    assert not problems, "command table entries lacking documentation:\n" + "\n".join(problems)
