"""Start-up warnings about the file system under ROOT_DIR (src/fscheck.c),
on small loop-mounted ext4 images and on a tmpfs made by the test (root
needed, as test_backup's inode test)."""
import os

from dredis_test import Dredis, mounted_fs

JOURNAL = "with data=journal: every file dredis writes goes to the journal"
ORDERED = "without data=journal: a process crash leaves every key whole"
SPACE = "where a 3-byte file takes"
NO_JOURNAL = "without a journal: after a power loss the file system needs fsck"


def log_of_server_on(mkfs, mount_opts):
    """Start dredis with ROOT_DIR on a new file system (mkfs: its mkfs.ext4
    options, or None for a tmpfs), answer PING, and return its log."""
    with mounted_fs(mkfs, mount_opts) as mnt:
        d = Dredis(root_dir=os.path.join(mnt, "root"))
        try:
            with d.client() as c:
                assert c.execute("PING") == "PONG"
            return d.output()
        finally:
            d.stop()
            d.cleanup()


def test_data_journal_and_block_per_small_file_are_reported():
    log = log_of_server_on(["-b", "4096"], "data=journal")
    assert JOURNAL in log, log
    assert ORDERED not in log and NO_JOURNAL not in log, log
    assert SPACE in log and "takes 4096 bytes on disk" in log, log


def test_inline_data_ext4_has_no_space_warning():
    log = log_of_server_on(["-O", "inline_data", "-I", "512"], "")
    assert ORDERED in log, log
    assert JOURNAL not in log and SPACE not in log and NO_JOURNAL not in log, log


def test_ext4_without_a_journal_is_reported():
    # its warning replaces the data mode's: data=journal needs a journal
    log = log_of_server_on(["-O", "^has_journal", "-b", "4096"], "")
    assert NO_JOURNAL in log, log
    assert ORDERED not in log and JOURNAL not in log, log
    assert SPACE in log, log


def test_tmpfs_has_no_warning():
    log = log_of_server_on(None, "")
    assert JOURNAL not in log and ORDERED not in log and SPACE not in log and NO_JOURNAL not in log, log
