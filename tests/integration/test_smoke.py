"""Smoke tests: the server starts, answers, and keeps keys as directories."""
import os
from dredis_test import Dredis, RespError


def test_ping_set_get_and_layout():
    with Dredis() as s, s.client() as c:
        assert c.execute("PING") == "PONG"
        assert c.execute("SET", "user:1", "hello") == "OK"
        assert c.execute("GET", "user:1") == b"hello"
        keydir = os.path.join(s.db_dir(0), "user:1")
        with open(os.path.join(keydir, "type")) as f:
            assert f.read() == "string"
        with open(os.path.join(keydir, "value"), "rb") as f:
            assert f.read() == b"hello"


def test_unknown_command_error_text():
    with Dredis() as s, s.client() as c:
        assert c.execute("NOPE", "a", "b") == RespError(
            "ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ")
        assert c.execute("GET") == RespError("ERR wrong number of arguments for 'get' command")
