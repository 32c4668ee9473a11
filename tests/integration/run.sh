#!/bin/sh
exec "$PYTHON3" "$TESTS_DIR/run_tests.py"
