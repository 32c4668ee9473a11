"""LOLWUT against a real redis-server 7.0: byte for byte wherever Redis's
art leaves nothing to chance (the version line, Schotter's first two rows
of squares at any size, errors), and of the same shape where it draws at
random (every line as wide, the same captions)."""
import re

from dredis_test import Pair

ESCAPE = re.compile(rb"\x1b\[[0-9;]*m \x1b\[0m")


def shape(art, cell):
    """the number of cells on each line of the art, and its caption"""
    lines = art.split(b"\n")
    art_lines = [l for l in lines if cell.search(l) or (l and l[0] >= 0xe2)]
    return [len(cell.findall(l)) for l in art_lines], [l for l in lines if l not in art_lines]


def test_deterministic_lines_as_redis():
    with Pair() as p:
        lines = [("LOLWUT",), ("LOLWUT", "VERSION", "7"), ("LOLWUT", "VERSION", "4"), ("LOLWUT", "version", "-1"),
                 ("LOLWUT", "VERSION", 2 ** 32 + 7), ("LOLWUT", "VERSION"), ("LOLWUT", "5"), ("LOLWUT", "x", "5"),
                 ("LOLWUT", "VERSION", "x"), ("LOLWUT", "VERSION", "5", "x"), ("LOLWUT", "VERSION", "5", "1", "y"),
                 ("LOLWUT", "VERSION", "6", "10", "z"), ("LOLWUT", "VERSION", 2 ** 32 + 5, "3", "1", "1")]
        for cols in (1, 2, 3, 10, 66, 150, 1001):
            for per_row in (1, 3, 8, 40, 300):
                for per_col in (-1, 1, 2):
                    lines.append(("LOLWUT", "VERSION", "5", cols, per_row, per_col))
        replies = p.run_many(lines)
        assert replies[0] == b"Redis ver. 7.0.15\n"
        assert b"Georg Nees" in replies[-1]
        p.both("HELLO", "3")
        p.run("LOLWUT", "VERSION", "5", "20", "4", "2")
        p.run("LOLWUT")


def test_random_art_has_redis_shape():
    braille = re.compile("[\u2800-\u28ff]".encode())
    with Pair() as p:
        for line in (("LOLWUT", "VERSION", "5"), ("LOLWUT", "VERSION", "5", "30", "5", "9"),
                     ("LOLWUT", "VERSION", "6"), ("LOLWUT", "VERSION", "6", "33", "7"),
                     ("LOLWUT", "VERSION", "6", "1", "1"), ("LOLWUT", "VERSION", "6", "2000", "3")):
            d, r = p.both(*line)
            cell = ESCAPE if line[2] == "6" else re.compile(b"[\xe2][\xa0-\xa3][\x80-\xbf]")
            assert shape(d, cell) == shape(r, cell), line
            assert d != b"" and (line[2] == "6" or braille.search(d))
