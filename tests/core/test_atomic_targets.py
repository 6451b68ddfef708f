"""Atomic writes never replace what they must not: devices, FIFOs, folders, symbolic links,
anything under /dev, /proc or /sys; a killed writer's temp file is cleaned the next time,
whatever PID it had."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aigc_studio.core.atomic import (
    UnsafeTargetError,
    atomic_write_bytes,
    check_target,
    clean_temp_files,
)
from tests.cli.clihelp import one_sentence, run_cli

POSIX = os.name == "posix"
IS_ROOT = POSIX and os.geteuid() == 0


@pytest.mark.skipif(not POSIX, reason="FIFOs and symbolic links as on POSIX")
def test_fifo_folder_and_symlink_targets_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    real = tmp_path / "real.bin"
    real.write_bytes(b"keep")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    for target, words in ((fifo, "FIFO"), (folder, "a folder"), (link, "symbolic link")):
        with pytest.raises(UnsafeTargetError, match=words):
            atomic_write_bytes(target, b"new")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and folder.is_dir()
    assert link.is_symlink() and real.read_bytes() == b"keep"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.skipif(not POSIX, reason="/dev, /proc and /sys exist on POSIX only")
def test_system_folders_are_never_written(tmp_path: Path) -> None:
    for target in (Path("/dev/null"), Path("/proc/self/comm"), Path("/sys/kernel/x")):
        with pytest.raises(UnsafeTargetError, match="system folder"):
            check_target(target)  # checked only: a broken check must not touch /dev/null
    into_dev = tmp_path / "to-dev"
    into_dev.symlink_to("/dev")
    with pytest.raises(UnsafeTargetError, match="inside /dev"):
        check_target(into_dev / "null")


@pytest.mark.skipif(not IS_ROOT, reason="creating a device node needs root")
def test_a_device_node_is_never_replaced_even_as_root(tmp_path: Path) -> None:
    node = tmp_path / "null-twin"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    with pytest.raises(UnsafeTargetError, match="a device"):
        atomic_write_bytes(node, b"x")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


@pytest.mark.skipif(not POSIX, reason="FIFOs as on POSIX")
def test_the_cli_refuses_such_targets_in_one_sentence(tmp_path: Path) -> None:
    from tests.engine.crafted import write_checkpoint, write_run

    run = write_run(tmp_path / "runs", "run")
    write_checkpoint(run)
    fifo = tmp_path / "out.safetensors"
    os.mkfifo(fifo)
    home = tmp_path / "home"
    one_sentence(run_cli("export", str(run), "--out", str(fifo), home=home), "FIFO")
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "elsewhere.png")
    one_sentence(run_cli("sample", str(run), "--n", "4", "--out", str(link), home=home),
                 "symbolic link")
    assert link.is_symlink() and not (tmp_path / "elsewhere.png").exists()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if IS_ROOT:
        node = tmp_path / "dev.safetensors"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        one_sentence(run_cli("export", str(run), "--out", str(node), home=home), "a device")
        assert stat.S_ISCHR(os.lstat(node).st_mode)


HOLDER = """
import fcntl, sys
handle = open(sys.argv[1], "wb")
fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
handle.write(b"half")
handle.flush()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not POSIX, reason="flock")
def test_a_killed_writers_temp_file_is_cleaned_next_time(tmp_path: Path) -> None:
    target = tmp_path / "walk.gif"
    # a writer killed mid-write, whose PID is this very process now (PID reuse)
    reused = tmp_path / f".walk.gif.{os.getpid()}.0a1b2c3d.tmp"
    reused.write_bytes(b"half")
    # a writer that is alive and still holds its temp file
    live_tmp = tmp_path / ".walk.gif.1.deadbeef.tmp"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(live_tmp)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        atomic_write_bytes(target, b"GIF89a")
        assert target.read_bytes() == b"GIF89a"
        assert not reused.exists() and live_tmp.exists()
        holder.send_signal(signal.SIGKILL)
    finally:
        holder.wait(timeout=60)
    assert clean_temp_files(tmp_path) == [live_tmp]  # its writer died: now it is stale
