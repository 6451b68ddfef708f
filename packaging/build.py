"""Build the AIGC Studio app bundle for this OS from a clean virtual environment.

    python packaging/build.py            # build/bundle-venv + dist/<app>, prints size and time
    python packaging/build.py --clean    # also discard PyInstaller's cache
    python packaging/build.py --torch-index-url https://download.pytorch.org/whl/cpu

Steps:
1. A virtual environment at ``build/bundle-venv`` (not the development ``.venv``) holding the
   project installed as a user gets it (``pip install <repo>``, not editable) plus PyInstaller.
   It is reused while a stamp (pyproject.toml, the PyInstaller pin, the torch index, the Python
   version) matches; otherwise it is deleted and made again. On reuse only the project itself
   is reinstalled (no dependencies), so source changes reach the bundle.
2. PyInstaller with ``packaging/aigc_studio.spec``, run from outside the repository so the
   analysis sees the installed package, not the source tree.
3. A summary: bundle path, size, file count, the biggest parts and the build time; the same as
   JSON in ``dist/aigc-studio-build.json`` (read by ``packaging/smoke_test.py``).

Only the standard library is used here, so any Python 3.10+ can run it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "aigc_studio.spec"
PYINSTALLER = "pyinstaller==6.22.*"
INFO_NAME = "aigc-studio-build.json"
STAMP_NAME = ".aigc-bundle-stamp"


def app_paths(dist: Path) -> tuple[Path, Path]:
    """(what to ship, the executable to run) for this OS; names follow the spec."""
    if sys.platform == "win32":
        folder = dist / "AIGC Studio"
        return folder, folder / "AIGC Studio.exe"
    if sys.platform == "darwin":
        app = dist / "AIGC Studio.app"
        return app, app / "Contents" / "MacOS" / "aigc-studio"
    folder = dist / "aigc-studio"
    return folder, folder / "aigc-studio"


def venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def run(cmd: list[str], **kwargs: object) -> None:
    print("+ " + " ".join(f'"{c}"' if " " in c else c for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def clean_env() -> dict[str, str]:
    """The environment for venv commands: no PYTHONPATH/PYTHONHOME leaking the dev tree in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def torch_requirements() -> list[str]:
    """torch/torchvision requirement strings from pyproject.toml (for a separate index)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return ["torch", "torchvision"]
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    deps = data.get("project", {}).get("dependencies", [])
    picked = [d for d in deps if d.split("[")[0].split("<")[0].split(">")[0].split("=")[0]
              .strip().lower() in ("torch", "torchvision")]
    return picked or ["torch", "torchvision"]


def stamp_for(torch_index: str | None) -> str:
    h = hashlib.sha256()
    h.update((ROOT / "pyproject.toml").read_bytes())
    for part in (PYINSTALLER, torch_index or "", sys.version, platform.machine(), sys.platform):
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:16]


def ensure_venv(venv: Path, torch_index: str | None, recreate: bool) -> bool:
    """Make or reuse the bundle venv; returns True when it was reused."""
    py = venv_python(venv)
    stamp = stamp_for(torch_index)
    stamp_file = venv / STAMP_NAME
    env = clean_env()
    up_to_date = (py.exists() and stamp_file.is_file()
                  and stamp_file.read_text().strip() == stamp)
    if up_to_date and not recreate:
        print(f"Reusing {venv} (stamp {stamp}); reinstalling aigc-studio only.", flush=True)
        run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
             str(ROOT)], env=env, cwd=venv)
        return True
    if venv.exists():
        print(f"Removing {venv} (stale or --recreate-venv).", flush=True)
        shutil.rmtree(venv)
    run([sys.executable, "-m", "venv", str(venv)], env=env)
    run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], env=env, cwd=venv)
    if torch_index:
        run([str(py), "-m", "pip", "install", "-q", *torch_requirements(),
             "--index-url", torch_index], env=env, cwd=venv)
    run([str(py), "-m", "pip", "install", "-q", str(ROOT), PYINSTALLER], env=env, cwd=venv)
    stamp_file.write_text(stamp + "\n")
    return False


def versions(py: Path) -> dict[str, str]:
    code = ("import json, sys, torch, torchvision, PyInstaller, PySide6, aigc_studio;"
            "print(json.dumps({'python': sys.version.split()[0], 'torch': torch.__version__,"
            "'torchvision': torchvision.__version__, 'pyinstaller': PyInstaller.__version__,"
            "'pyside6': PySide6.__version__, 'aigc_studio': aigc_studio.__version__,"
            "'aigc_studio_file': aigc_studio.__file__}))")
    out = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True,
                         env=clean_env(), cwd=py.parent).stdout
    return json.loads(out.strip().splitlines()[-1])


def tree_size(path: Path) -> tuple[int, int]:
    """(bytes, files) under path; symlinks counted as links, not followed."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(path, followlinks=False):
        for name in names:
            total += os.lstat(os.path.join(dirpath, name)).st_size
            files += 1
    return total, files


def biggest_parts(app: Path, top: int = 8) -> list[tuple[str, int]]:
    """The largest entries of the bundle's library folder (where torch, Qt, CUDA live)."""
    candidates = [app / "_internal", app / "Contents" / "Frameworks", app]
    base = next((c for c in candidates if c.is_dir()), app)
    sizes: list[tuple[str, int]] = []
    for entry in base.iterdir():
        if entry.is_symlink():
            continue
        size = tree_size(entry)[0] if entry.is_dir() else entry.stat().st_size
        sizes.append((entry.name, size))
    return sorted(sizes, key=lambda item: -item[1])[:top]


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.2f} {unit}" if unit == "GiB" else f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the AIGC Studio bundle for this OS.")
    parser.add_argument("--venv", type=Path, default=ROOT / "build" / "bundle-venv")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--torch-index-url", default=os.environ.get("AIGC_TORCH_INDEX_URL"),
                        help="install torch/torchvision from this index first, e.g. "
                             "https://download.pytorch.org/whl/cpu (env AIGC_TORCH_INDEX_URL)")
    parser.add_argument("--recreate-venv", action="store_true", help="never reuse the venv")
    parser.add_argument("--clean", action="store_true", help="discard PyInstaller's cache")
    parser.add_argument("--log-level", default="WARN", help="PyInstaller's --log-level")
    args = parser.parse_args(argv)
    venv, dist, work = args.venv.resolve(), args.dist.resolve(), args.work.resolve()

    t0 = time.perf_counter()
    reused = ensure_venv(venv, args.torch_index_url, args.recreate_venv)
    t_venv = time.perf_counter() - t0
    py = venv_python(venv)
    info = versions(py)
    if Path(info["aigc_studio_file"]).resolve().is_relative_to(ROOT / "aigc_studio"):
        print("error: the bundle venv imports aigc_studio from the source tree.", file=sys.stderr)
        return 1
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in info.items() if k != "aigc_studio_file"),
          flush=True)

    app, exe = app_paths(dist)
    work.mkdir(parents=True, exist_ok=True)
    cmd = [str(py), "-m", "PyInstaller", "--noconfirm", "--log-level", args.log_level,
           "--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    if args.clean:
        cmd.insert(3, "--clean")
    t1 = time.perf_counter()
    run(cmd, env=clean_env(), cwd=work)  # not the repo root: analyse the installed package
    t_pyi = time.perf_counter() - t1
    total_s = time.perf_counter() - t0
    if not exe.is_file():
        print(f"error: PyInstaller finished but {exe} does not exist.", file=sys.stderr)
        return 1

    size, files = tree_size(app)
    parts = biggest_parts(app)
    record = {
        "app": str(app), "executable": str(exe), "size_bytes": size, "files": files,
        "build_seconds": round(total_s, 1), "venv_seconds": round(t_venv, 1),
        "pyinstaller_seconds": round(t_pyi, 1), "venv_reused": reused,
        "platform": f"{sys.platform}-{platform.machine()}",
        "biggest_parts": {name: n for name, n in parts},
        **{k: v for k, v in info.items() if k != "aigc_studio_file"},
    }
    (dist / INFO_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print()
    print(f"Bundle:     {app}")
    print(f"Executable: {exe}")
    print(f"Size:       {human(size)} ({size:,} bytes, {files:,} files)")
    print("Largest:    " + ", ".join(f"{name} {human(n)}" for name, n in parts))
    print(f"Build time: {total_s:.0f} s (venv {t_venv:.0f} s{' reused' if reused else ''}, "
          f"PyInstaller {t_pyi:.0f} s)")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:  # GitHub Actions: show it on the run's page
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(f"**{app.name}** ({record['platform']}, torch {info['torch']}): "
                     f"{human(size)}, {files:,} files, built in {total_s:.0f} s\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
