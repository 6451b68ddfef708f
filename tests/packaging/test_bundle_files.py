"""Fast checks of the packaging files (no bundle is built here: that is packaging/build.py).

The spec, launcher and scripts parse; the workflow is valid YAML with the jobs we rely on; the
icons exist and are all derived from the one source image; the Windows version template and
the macOS entitlements are well formed; the smoke test's image check tells blank from real.
"""

from __future__ import annotations

import ast
import importlib.util
import plistlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
WORKFLOW = ROOT / ".github" / "workflows" / "build.yml"


def load(name: str) -> ModuleType:
    """Import packaging/<name>.py under a private name (``packaging`` is PyPA's library)."""
    path = PACKAGING / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_aigc_packaging_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["aigc_studio.spec", "build.py", "smoke_test.py", "launcher.py",
                                  "make_icons.py"])
def test_packaging_sources_parse(name: str) -> None:
    ast.parse((PACKAGING / name).read_text(encoding="utf-8"), filename=name)


def test_spec_covers_the_known_pitfalls() -> None:
    spec = (PACKAGING / "aigc_studio.spec").read_text(encoding="utf-8")
    tree = ast.parse(spec)
    calls = {node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    assert "exclude_binaries=True" in spec  # onedir
    assert "console=False" in spec  # windowed
    assert '"aigc_studio/resources"' in spec  # the bundled data set and icons
    assert "torchvision" in spec and '".pyd"' in spec  # _C_stable / image_stable, any OS
    excludes = next(ast.literal_eval(node.value) for node in tree.body
                    if isinstance(node, ast.Assign)
                    and getattr(node.targets[0], "id", "") == "excludes")
    assert {"triton", "tensorboard", "pytest"} <= set(excludes)
    # `import torch` imports torch.testing._internal (via torch.utils.checkpoint): excluding it
    # kills the bundle. pyqtgraph imports PySide6.QtTest (optional, but small: keep it).
    assert not {"torch.testing", "torch.testing._internal", "PySide6.QtTest"} & set(excludes)
    for key in ("bundle_identifier", "NSHighResolutionCapable", "entitlements_file",
                "version_info.txt", "aigc-studio.ico", "aigc-studio.icns"):
        assert key in spec


def test_build_paths_follow_the_spec() -> None:
    build = load("build")
    app, exe = build.app_paths(Path("dist"))
    assert exe.is_relative_to(app)
    assert build.PYINSTALLER.startswith("pyinstaller==6.22")
    assert any(req.startswith("torch") for req in build.torch_requirements())


def test_workflow_is_valid_yaml_with_the_jobs() -> None:
    yaml = pytest.importorskip("yaml")
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "\t" not in text
    data = yaml.safe_load(text)
    jobs = data["jobs"]
    assert {"tests", "dist", "bundle"} <= set(jobs)
    assert set(jobs["tests"]["strategy"]["matrix"]["os"]) == {
        "ubuntu-latest", "windows-latest", "macos-latest"}
    bundle_os = {row["os"] for row in jobs["bundle"]["strategy"]["matrix"]["include"]}
    assert bundle_os == {"windows-latest", "macos-latest"}
    runs = "\n".join(step.get("run", "") for step in jobs["bundle"]["steps"])
    assert "packaging/build.py" in runs and "packaging/smoke_test.py" in runs
    assert "notarytool" in runs and "codesign" in runs
    assert True in data or "on" in data  # PyYAML reads the bare key `on` as True


def test_workflow_text_mentions_everything_without_yaml() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    for needle in ("windows-latest", "macos-latest", "download.pytorch.org/whl/cpu",
                   "packaging/build.py", "packaging/smoke_test.py", "python -m build",
                   "upload-artifact", "notarytool", "QT_QPA_PLATFORM: offscreen"):
        assert needle in text


def test_icons_exist_and_come_from_one_source(tmp_path: Path) -> None:
    icons = load("make_icons")
    assert icons.main(["--check"]) == 0
    with Image.open(ICONS / "aigc-studio.png") as src:
        assert src.size == (1024, 1024) and src.mode == "RGBA"
        source = src.convert("RGBA")
    with Image.open(ICONS / "aigc-studio.ico") as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(ICONS / "aigc-studio.icns") as icns:
        assert max(icns.info.get("sizes", [(icns.size[0], icns.size[1], 1)]))[0] >= 512
    # Re-deriving from the committed source gives the committed window icon, pixel for pixel.
    icons.derive(source, tmp_path)
    with Image.open(tmp_path / "aigc-studio-256.png") as fresh, \
            Image.open(ICONS / "aigc-studio-256.png") as committed:
        assert fresh.tobytes() == committed.tobytes()


def test_windows_version_template_renders() -> None:
    template = (PACKAGING / "windows" / "version_info.txt").read_text(encoding="utf-8")
    text = (template.replace("{filevers}", repr((0, 1, 0, 0))).replace("{version}", "0.1.0")
            .replace("{year}", "2026"))
    tree = ast.parse(text)
    call = tree.body[0].value  # type: ignore[attr-defined]
    assert isinstance(call, ast.Call) and call.func.id == "VSVersionInfo"  # type: ignore[attr-defined]
    assert "{" not in text.split("VSVersionInfo", 1)[1]


def test_macos_entitlements() -> None:
    data = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert data["com.apple.security.cs.allow-jit"] is True
    assert data["com.apple.security.cs.allow-unsigned-executable-memory"] is True
    assert data["com.apple.security.cs.disable-library-validation"] is True


def test_smoke_image_check_tells_blank_from_real(tmp_path: Path) -> None:
    smoke = load("smoke_test")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), (30, 30, 30)).save(blank)
    assert "blank" in (smoke.image_problem(blank, 400, 300, 64) or "")
    real = tmp_path / "real.png"
    Image.radial_gradient("L").resize((640, 480)).convert("RGB").save(real)
    assert smoke.image_problem(real, 400, 300, 64) is None
    assert "small" in (smoke.image_problem(real, 1000, 1000, 64) or "")
