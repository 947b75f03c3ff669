"""`make`'s uv bootstrap on machines unlike this one, with a stand-in Python: uv on PATH is used as it is;
else the Python's uv module; else pip installs uv; and where the system Python refuses pip install
(PEP 668, Debian/Ubuntu), uv goes into a small virtual environment. The real `make` runs the real
Makefile; only the Python and the PATH are fakes, so nothing is downloaded."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UV_FLOOR = "0.12.22"  # the first uv that keeps uv.lock's `revision = 5` when it rewrites the lock

FAKE_PYTHON = r"""#!/bin/sh
# A machine's python3: logs each call; behaviour from FAKE_* variables.
echo "python $*" >> "$FAKE_LOG"
case "$1 $2" in
  "-m uv")
    [ -e "$FAKE_STATE/uv-module" ] && { echo "uv ${FAKE_MODULE_UV_VERSION:-0.13.9}-module"; exit 0; }
    echo "No module named uv" >&2; exit 1;;
  "-m pip")
    if [ "$FAKE_PIP" = refuse ]; then
      echo "error: externally-managed-environment" >&2
      echo "This environment is externally managed (PEP 668)" >&2; exit 1
    fi
    [ "$FAKE_PIP" = missing ] && { echo "/usr/bin/python3: No module named pip" >&2; exit 1; }
    touch "$FAKE_STATE/uv-module"; exit 0;;
  "-m venv")
    [ "$FAKE_VENV" = fail ] && { echo "The virtual environment was not created: ensurepip is not available" >&2
      exit 1; }
    mkdir -p "$3/bin" && cp "$FAKE_VENV_PYTHON" "$3/bin/python" && chmod +x "$3/bin/python"; exit 0;;
esac
echo "unexpected call: $*" >&2; exit 3
"""

FAKE_VENV_PYTHON = r"""#!/bin/sh
# python of the bootstrap venv: pip install puts a uv next to it.
echo "venv-python $*" >> "$FAKE_LOG"
[ "$1 $2" = "-m pip" ] || { echo "unexpected call: $*" >&2; exit 3; }
printf '#!/bin/sh\necho "uv 0.13.9-venv $*"\n' > "$(dirname "$0")/uv" && chmod +x "$(dirname "$0")/uv"
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """A PATH with the basic tools but no uv, and a fake python3 on it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "echo", "cat", "mkdir", "cp", "chmod", "touch", "dirname", "printf"):
        found = next((Path(d) / tool for d in ("/usr/bin", "/bin") if (Path(d) / tool).exists()), None)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    _executable(bin_dir / "python3", FAKE_PYTHON)
    (tmp_path / "state").mkdir()
    return {"PATH": str(bin_dir), "FAKE_LOG": str(tmp_path / "calls.log"), "FAKE_STATE": str(tmp_path / "state"),
            "FAKE_VENV_PYTHON": str(_executable(tmp_path / "venv-python", FAKE_VENV_PYTHON)),
            "HOME": str(tmp_path), "TMP": str(tmp_path)}


def make_uv(machine: dict[str, str], tmp_path: Path, **fake: str) -> subprocess.CompletedProcess[str]:
    """`make uv`: bootstrap uv as `make install` does and print the command that runs it."""
    venv = tmp_path / "uv-venv"
    env = {**machine, **{f"FAKE_{k.upper()}": v for k, v in fake.items()}}
    return subprocess.run(["/usr/bin/make", "--no-print-directory", "-C", str(ROOT), "uv", "PYTHON=python3",
                           f"BOOTSTRAP_VENV={venv}"], capture_output=True, text=True, timeout=60, env=env)


def calls(machine: dict[str, str]) -> list[str]:
    """Which Python was asked for which module, in order (e.g. "python -m pip")."""
    log = Path(machine["FAKE_LOG"])
    return [" ".join(line.split()[:3]) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_uv_on_path_is_used_as_it_is(machine: dict[str, str], tmp_path: Path) -> None:
    uv = _executable(Path(machine["PATH"]) / "uv", "#!/bin/sh\necho 'uv 0.13.9 (x86_64-unknown-linux-gnu)'\n")
    done = make_uv(machine, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(uv)
    assert calls(machine) == []  # the machine's Python is not even asked


@pytest.mark.parametrize("version", ["0.4.30", "0.11.33 (Homebrew 2026-07-20)", "0.12.21", "garbled"])
def test_a_uv_on_path_too_old_for_the_lock_is_passed_over(
    machine: dict[str, str], tmp_path: Path, version: str
) -> None:
    _executable(Path(machine["PATH"]) / "uv", f"#!/bin/sh\necho 'uv {version}'\n")
    done = make_uv(machine, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "python3 -m uv"  # installed with pip, as on a machine without uv
    assert f"older than {UV_FLOOR}" in done.stderr or "cannot tell" in done.stderr
    assert calls(machine) == ["python -m uv", "python -m pip"]


def test_a_uv_on_path_new_enough_is_used(machine: dict[str, str], tmp_path: Path) -> None:
    uv = _executable(Path(machine["PATH"]) / "uv", f"#!/bin/sh\necho 'uv {UV_FLOOR}'\n")
    done = make_uv(machine, tmp_path)
    assert done.stdout.strip() == str(uv) and calls(machine) == []


def test_an_old_uv_module_is_passed_over_too(machine: dict[str, str], tmp_path: Path) -> None:
    (Path(machine["FAKE_STATE"]) / "uv-module").touch()
    done = make_uv(machine, tmp_path, module_uv_version="0.5.0")
    assert done.returncode == 0, done.stderr
    assert calls(machine) == ["python -m uv", "python -m pip"]  # pip brings it up to the floor


def test_the_floor_is_the_projects_required_uv_version() -> None:
    """The bootstrap's floor and `[tool.uv] required-version` (which uv itself enforces) are one number."""
    import tomllib

    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["required-version"]
    assert required == f">={UV_FLOOR}"
    script = (ROOT / "deploy" / "local" / "bootstrap-uv.sh").read_text()
    assert f"UV_REQUIREMENT='uv>={UV_FLOOR}'" in script


def test_the_pythons_uv_module_is_used(machine: dict[str, str], tmp_path: Path) -> None:
    (Path(machine["FAKE_STATE"]) / "uv-module").touch()
    done = make_uv(machine, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "python3 -m uv"
    assert calls(machine) == ["python -m uv"]


def test_pip_installs_uv_where_it_may(machine: dict[str, str], tmp_path: Path) -> None:
    done = make_uv(machine, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "python3 -m uv"
    assert calls(machine) == ["python -m uv", "python -m pip"]


def test_where_pip_is_refused_uv_goes_into_a_virtual_environment(machine: dict[str, str], tmp_path: Path) -> None:
    done = make_uv(machine, tmp_path, pip="refuse")
    assert done.returncode == 0, done.stderr
    uv = tmp_path / "uv-venv" / "bin" / "uv"
    assert done.stdout.strip() == str(uv)
    assert "refuses pip install (PEP 668)" in done.stderr
    assert calls(machine) == ["python -m uv", "python -m pip", "python -m venv", "venv-python -m pip"]
    assert subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout.startswith("uv 0.13.9-venv")

    again = make_uv(machine, tmp_path, pip="refuse")  # the next `make` finds it there
    assert again.stdout.strip() == str(uv)
    assert calls(machine)[4:] == ["python -m uv"]


def test_a_python_without_pip_puts_uv_into_a_virtual_environment(machine: dict[str, str], tmp_path: Path) -> None:
    """Fedora/RHEL containers: python3 has no pip module at all, but `python3 -m venv` brings its own pip."""
    done = make_uv(machine, tmp_path, pip="missing")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "uv-venv" / "bin" / "uv")
    assert "No module named pip" in done.stderr  # pip's own words, then what is done instead
    assert calls(machine) == ["python -m uv", "python -m pip", "python -m venv", "venv-python -m pip"]


def test_no_venv_module_either_says_what_to_install(machine: dict[str, str], tmp_path: Path) -> None:
    done = make_uv(machine, tmp_path, pip="refuse", venv="fail")
    assert done.returncode != 0
    assert "ensurepip is not available" in done.stderr  # venv's own words
    assert "python3-venv" in done.stderr and "https://docs.astral.sh/uv/" in done.stderr


def test_make_install_syncs_with_the_bootstrapped_uv() -> None:
    shown = subprocess.run(["/usr/bin/make", "-n", "-B", "-C", str(ROOT), "install"], capture_output=True, text=True,
                           timeout=60, env={**os.environ})
    assert shown.returncode == 0, shown.stderr
    assert "bootstrap-uv.sh" in shown.stdout and "sync --all-packages --frozen" in shown.stdout
