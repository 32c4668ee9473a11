"""run_tests.py - runs every test_* function of every test_*.py module in this
folder (or only the modules/functions named on the command line, as
module or module::function) and prints one line per test and a closing
'N passed, N failed' line (', N skipped' added when a test raised
unittest.SkipTest: a prerequisite the server lacks). Exit status 1 when any
test failed."""
import importlib
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def selected():
    wanted = sys.argv[1:]
    mods = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    for m in mods:
        names = [w.split("::", 1)[1] if "::" in w else None for w in wanted if w.split("::")[0] in (m, m + ".py")]
        if wanted and not names:
            continue
        mod = importlib.import_module(m)
        for name in sorted(n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n))):
            if names and None not in names and name not in names:
                continue
            yield m, name, getattr(mod, name)


def main():
    passed = failed = skipped = 0
    failures = []
    start = time.time()
    for mod, name, fn in selected():
        t0 = time.time()
        try:
            fn()
        except unittest.SkipTest as e:
            skipped += 1
            print("skip %s::%s (%.2fs): %s" % (mod, name, time.time() - t0, e), flush=True)
        except Exception:
            failed += 1
            failures.append((mod, name, traceback.format_exc()))
            print("FAIL %s::%s (%.2fs)" % (mod, name, time.time() - t0), flush=True)
        else:
            passed += 1
            print("ok   %s::%s (%.2fs)" % (mod, name, time.time() - t0), flush=True)
    for mod, name, tb in failures:
        print("\n==== %s::%s ====\n%s" % (mod, name, tb))
    print("integration tests took %.1fs" % (time.time() - start))
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
