"""A short run of scripts/bench-snapshot (snapshot_bench.py): a snapshot of
a few thousand keys taken while a client writes, holding every key."""
import io

import snapshot_bench


def test_bench_snapshot_short_run():
    out = io.StringIO()
    r = snapshot_bench.run(5000, baseline_seconds=0.3, out=out)
    text = out.getvalue()
    assert "BGSAVE reply" in text and "snapshot complete after" in text, text
    assert r["before"], "no write ran before the snapshot"
