"""A short run of scripts/bench-scale (scale_bench.py): the load, the
restart on the tree, DBSIZE, SCAN and KEYS see every key, and every figure
of the report is measured."""
import io

import scale_bench


def test_scale_bench_small():
    out = io.StringIO()
    f = scale_bench.run(1000, out=out, c_loop=True)
    assert f["load_keys_per_s"] > 0 and f["c_loop_new_keys_per_s"] > 0
    assert f["inodes_per_key"] >= 1  # at least the key's directory
    assert 0 < f["first_pong_s"] and f["rss_after_start_kb"] > 0
    text = out.getvalue()
    assert "| full SCAN, COUNT 10 |" in text and "C loop" in text, text
