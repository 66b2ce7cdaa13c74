"""The light install: running needs no training package, and a non-editable install runs from its own files."""

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import cv2
import pytest

from conftest import DEMO, ENV, ROOT, events, free_port
from stream.cli import TRAINING_PACKAGES

TRAINING_MODULES = tuple(sorted(TRAINING_PACKAGES))
"""Top-level modules of setup.cfg's ``train`` extra: no running command may import them."""

DEMO_PLATES = sorted(vehicle["plate"] for vehicle in json.loads(DEMO.with_suffix(".json").read_text()))


@pytest.fixture(scope="module")
def demo_stills(tmp_path_factory) -> list[Path]:
    """One frame of each demo vehicle, from the middle of its time in view, named after its plate."""
    folder = tmp_path_factory.mktemp("packaging_stills")
    capture = cv2.VideoCapture(str(DEMO))
    frames = []
    ok, frame = capture.read()
    while ok:
        frames.append(frame)
        ok, frame = capture.read()
    capture.release()
    paths = []
    for vehicle in json.loads(DEMO.with_suffix(".json").read_text()):
        path = folder / f"{vehicle['plate']}.png"
        cv2.imwrite(str(path), frames[(vehicle["first_frame"] + vehicle["last_frame"]) // 2])
        paths.append(path)
    return paths


def run_args(folder: Path) -> list[str]:
    """``anpr run`` options that keep a run's sockets and journal its own."""
    return ["--publish", f"tcp://127.0.0.1:{free_port()}", "--replay", f"tcp://127.0.0.1:{free_port()}",
            "--journal", str(folder / "events.db")]


def read_texts(stdout: str) -> list[str]:
    """The plate texts of the ``anpr read --json`` lines of some output, sorted."""
    return sorted(plate["text"] for line in events(stdout) if "plates" in line for plate in line["plates"])


def plate_events(stdout: str) -> list[dict]:
    """The plate events of the ``anpr run --json`` lines of some output."""
    return [line for line in events(stdout) if line.get("type") == "plate"]


def test_running_imports_no_training_package(demo_stills, tmp_path):
    """``import stream.cli``, ``anpr read`` and ``anpr run`` in one process, then what that process imported."""
    script = f"""
import json, sys
import stream.cli
after_import = sorted({{m.split(".")[0] for m in sys.modules}} & set({TRAINING_MODULES!r}))
assert stream.cli.main(["read", "--json", *{[str(p) for p in demo_stills]!r}]) == 0
assert stream.cli.main(["run", {str(DEMO)!r}, "--json", *{run_args(tmp_path)!r}]) == 0
after_run = sorted({{m.split(".")[0] for m in sys.modules}} & set({TRAINING_MODULES!r}))
print(json.dumps({{"after_import": after_import, "after_run": after_run}}))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"after_import": [], "after_run": []}
    assert read_texts(result.stdout) == DEMO_PLATES
    assert sorted(event["plate"] for event in plate_events(result.stdout)) == DEMO_PLATES


def _copy_of_the_project(dest: Path) -> Path:
    """The project's files, without the virtual environment, build outputs and training runs."""
    ignore = shutil.ignore_patterns(".venv", ".git", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "tests")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.mark.slow
def test_fresh_install_runs_the_demo_and_reads_stills_from_its_own_files(demo_stills, tmp_path):
    """The project's wheel installed (not editable) into a new virtual environment with what ``pip install .``
    installs, the source copy deleted, then the demo and ``anpr read`` from another folder: the configs, weights
    and demo clip come from the installed package, and no training package is there."""
    source = _copy_of_the_project(tmp_path / "source")
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "-q"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    shutil.rmtree(source)
    env_dir = tmp_path / "venv"
    venv.create(env_dir)  # bare: this test's pip installs into it
    bin_dir = env_dir / "bin"
    install = subprocess.run([*pip, "--python", str(bin_dir / "python"), "install", *map(str, wheels.glob("*.whl"))],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in ENV.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    def anpr(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(bin_dir / "anpr"), *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)

    site = subprocess.run([str(bin_dir / "python"), "-c", "import stream.config as c; print(c.PACKAGE_ROOT)"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=60)
    package_root = Path(site.stdout.strip())
    assert package_root.is_relative_to(env_dir), site.stderr

    demo = anpr("run", "--json", *run_args(work))
    assert demo.returncode == 0, demo.stderr
    plates = plate_events(demo.stdout)
    assert sorted(event["plate"] for event in plates) == DEMO_PLATES
    assert {event["source"] for event in plates} == {str(package_root / "stream" / "demo" / "demo.mp4")}

    read = anpr("read", "--json", *map(str, demo_stills))
    assert read.returncode == 0, read.stderr
    assert read_texts(read.stdout) == DEMO_PLATES

    train = anpr("train", "--run-dir", str(work / "run"))
    assert train.returncode == 2
    assert "needs the training packages" in train.stderr and "[train]" in train.stderr
    light = subprocess.run([str(bin_dir / "python"), "-c", f"import importlib.util as u; print([m for m in "
                            f"{TRAINING_MODULES!r} if u.find_spec(m)])"], env=env, capture_output=True, text=True)
    assert light.stdout.strip() == "[]", light.stderr
