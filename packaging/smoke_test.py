"""Smoke-test a built AIGC Studio bundle: start it, train one demo epoch, check what it wrote.

    python packaging/smoke_test.py                 # the bundle packaging/build.py just made
    python packaging/smoke_test.py --exe PATH      # any bundle executable

It runs ``<exe> --demo --epochs 1 --quit-when-done --screenshot PATH`` with a fresh
``AIGC_STUDIO_HOME`` (and ``QT_QPA_PLATFORM=offscreen`` on Linux, or with ``--offscreen``), and
checks:

1. the process exits 0 within the timeout;
2. a run folder ``<home>/runs/<run>/`` with ``config.json`` and ``samples/epoch_0001.png``
   (a non-blank sample grid) exists;
3. the screenshot is a real picture of the window (a reasonable size, many colours);
4. nothing was written inside the bundle (writable data belongs in the per-user folders).

Prints PASS/FAIL per check and a closing note with the bundle size and build time (from
``dist/aigc-studio-build.json``); exits 1 on any failure. The screenshot and the sample grid
are copied to ``dist/smoke/`` for a look (CI uploads them).

Needs Pillow: if this Python lacks it, the script re-runs itself with the bundle venv's Python.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
INFO = DIST / "aigc-studio-build.json"
BUNDLE_VENV = ROOT / "build" / "bundle-venv"

try:
    from PIL import Image
except ModuleNotFoundError:  # re-run with a Python that has Pillow (the bundle venv)
    Image = None  # type: ignore[assignment]


def _reexec_with_pillow() -> int:
    for py in (BUNDLE_VENV / "bin" / "python", BUNDLE_VENV / "Scripts" / "python.exe"):
        if py.is_file() and Path(sys.prefix).resolve() != BUNDLE_VENV.resolve():
            return subprocess.call([str(py), str(Path(__file__).resolve()), *sys.argv[1:]])
    print("FAIL: the smoke test needs Pillow (pip install pillow).", file=sys.stderr)
    return 1


def default_exe() -> Path:
    if INFO.is_file():
        return Path(json.loads(INFO.read_text(encoding="utf-8"))["executable"])
    sys.path.insert(0, str(ROOT / "packaging"))
    from build import app_paths

    return app_paths(DIST)[1]


def bundle_root(exe: Path) -> Path:
    """The folder (or .app) a user gets: nothing may be written inside it."""
    for parent in exe.parents:
        if parent.suffix == ".app":
            return parent
    return exe.parent


def listing(root: Path) -> set[str]:
    found: set[str] = set()
    for dirpath, dirs, names in os.walk(root, followlinks=False):
        for name in names + dirs:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


def image_problem(path: Path, min_w: int, min_h: int, min_colours: int) -> str | None:
    """None when the PNG looks like a real picture; otherwise what is wrong with it."""
    try:
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
    except Exception as exc:  # any unreadable file is a failure
        return f"unreadable ({type(exc).__name__}: {exc})"
    w, h = rgb.size
    if w < min_w or h < min_h:
        return f"too small ({w}x{h}, want at least {min_w}x{min_h})"
    small = rgb.resize((min(w, 400), min(h, 300)))
    colours = small.getcolors(maxcolors=1 << 20) or []
    if len(colours) < min_colours:
        return f"nearly blank ({len(colours)} colours, want at least {min_colours})"
    return None


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-test a built AIGC Studio bundle.")
    parser.add_argument("--exe", type=Path, default=None, help="the bundle's executable")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None,
                        help="pass --limit N to the app (fewer images, a quicker epoch)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds (default 900)")
    parser.add_argument("--offscreen", action="store_true",
                        help="QT_QPA_PLATFORM=offscreen (always on Linux)")
    parser.add_argument("--max-gib", type=float, default=None,
                        help="also fail when the bundle is larger than this (GiB)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home folder")
    parser.add_argument("--out", type=Path, default=DIST / "smoke",
                        help="where to copy the screenshot and sample grid (dist/smoke)")
    args = parser.parse_args(argv)
    if Image is None:
        return _reexec_with_pillow()

    exe = (args.exe or default_exe()).resolve()
    results: list[tuple[bool, str]] = []

    def check(ok: bool, what: str) -> bool:
        results.append((ok, what))
        print(f"{'PASS' if ok else 'FAIL'}: {what}", flush=True)
        return ok

    if not check(exe.is_file(), f"bundle executable exists ({exe})"):
        return summary(results, None, exe)
    if args.max_gib is not None:
        size = sum(os.lstat(os.path.join(d, n)).st_size
                   for d, _, names in os.walk(bundle_root(exe)) for n in names)
        check(size <= args.max_gib * 2**30,
              f"bundle size {size / 2**30:.2f} GiB <= {args.max_gib} GiB")

    home = Path(tempfile.mkdtemp(prefix="aigc-smoke-"))
    shot = home / "screenshot.png"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["AIGC_STUDIO_HOME"] = str(home)
    if sys.platform.startswith("linux") or args.offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    if sys.platform.startswith("linux"):  # keep QSettings/caches out of the real home
        env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
        env["XDG_CACHE_HOME"] = str(home / "xdg-cache")
    cmd = [str(exe), "--demo", "--epochs", str(args.epochs), "--quit-when-done",
           "--screenshot", str(shot)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]

    root = bundle_root(exe)
    before = listing(root)
    log = home / "smoke-output.log"
    print("+ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        try:
            code: int | None = subprocess.run(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, timeout=args.timeout,
                                              cwd=home).returncode
        except subprocess.TimeoutExpired:
            code = None
    elapsed = time.perf_counter() - t0

    if code is None:
        check(False, f"app finished within {args.timeout:.0f} s")
    else:
        check(code == 0, f"exit code 0 (got {code}) after {elapsed:.0f} s")

    runs = sorted((home / "runs").glob("*/samples/epoch_0001.png"))
    if check(bool(runs), f"a run folder with samples/epoch_0001.png under {home / 'runs'}"):
        run_dir = runs[0].parent.parent
        check((run_dir / "config.json").is_file(), f"run folder has config.json ({run_dir.name})")
        problem = image_problem(runs[0], 32, 32, 8)
        check(problem is None, "sample grid is not blank" + (f": {problem}" if problem else ""))
    if check(shot.is_file(), f"screenshot written ({shot.name})"):
        problem = image_problem(shot, 400, 300, 64)
        check(problem is None, "screenshot is a real picture" + (f": {problem}" if problem else ""))

    added = sorted(p for p in listing(root) - before if "__pycache__" not in p)
    check(not added, "nothing written inside the bundle"
          + ("" if not added else f" (found {', '.join(added[:5])})"))

    args.out.mkdir(parents=True, exist_ok=True)
    if shot.is_file():
        shutil.copy2(shot, args.out / "screenshot.png")
    if runs:
        shutil.copy2(runs[0], args.out / "epoch_0001.png")
    shutil.copy2(log, args.out / "app-output.log")

    failed = any(not ok for ok, _ in results)
    if failed:
        print("\n--- app output (last lines) ---\n" + tail(log))
        for app_log in sorted(home.glob("logs/*.log")):
            print(f"--- {app_log.name} (last lines) ---\n" + tail(app_log))
    if args.keep or failed:
        print(f"(kept {home})")
    else:
        shutil.rmtree(home, ignore_errors=True)
    return summary(results, elapsed, exe)


def summary(results: list[tuple[bool, str]], elapsed: float | None, exe: Path) -> int:
    passed = sum(ok for ok, _ in results)
    failed = len(results) - passed
    note = ""
    if INFO.is_file():
        info = json.loads(INFO.read_text(encoding="utf-8"))
        if Path(info.get("executable", "")).resolve() == exe.resolve():
            note = (f"; bundle {info['size_bytes'] / 2**30:.2f} GiB ({info['files']:,} files, "
                    f"{info['platform']}, torch {info.get('torch', '?')}), "
                    f"built in {info['build_seconds']:.0f} s")
    run_s = f": app ran {elapsed:.0f} s" if elapsed is not None else ""
    verdict = "PASS" if failed == 0 and results else "FAIL"
    line = f"SMOKE TEST {verdict}{run_s}{note}"
    print("\n" + line)
    print(f"smoke: {passed} passed, {failed} failed")  # the plain closing line CI reads
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:  # GitHub Actions: show it on the run's page
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(f"{line} ({passed} passed, {failed} failed)\n\n" + "".join(
                f"- {'PASS' if ok else 'FAIL'}: {what}\n" for ok, what in results))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
