"""Build the sdist and the wheel from the checkout's files (tracked and new, not ignored: no stale
egg-info, no bytecode) and check them: no warning from the build, no tests in the sdist, and every
file of the package in the wheel (templates, static files, translations, migrations, the
emulator's assets, py.typed) with LICENSE. Exits non-zero on any problem."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_IN_SDIST = ("tests/", "demo_site/", "bench/", ".ci/")


def checkout_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def main() -> int:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        source, dist = Path(tmp, "source"), Path(tmp, "dist")
        files = checkout_files()
        for name in files:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # its own warning
        build = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
                               env=env, capture_output=True, text=True)
        output = build.stdout + build.stderr
        if build.returncode:
            print(output)
            return 1
        problems += [f"build: {line.strip()}" for line in output.splitlines() if "warning" in line.lower()]
        (sdist,), (wheel,) = dist.glob("*.tar.gz"), dist.glob("*.whl")
        with tarfile.open(sdist) as archive:
            in_sdist = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name and m.isfile()}
        with zipfile.ZipFile(wheel) as archive:
            in_wheel = set(archive.namelist())
    problems += [f"sdist ships {name}" for name in sorted(in_sdist) if name.startswith(NOT_IN_SDIST)]
    problems += [f"sdist lacks {name}" for name in ("LICENSE", "README.md", "CHANGELOG.md") if name not in in_sdist]
    package = [name for name in files if name.startswith("graph_auth/")]
    problems += [f"wheel lacks {name}" for name in package if name not in in_wheel]
    problems += [f"wheel ships {name}" for name in sorted(in_wheel) if name.endswith((".pyc", ".pyo"))]
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel):
        problems.append("wheel lacks LICENSE")
    for problem in problems:
        print(problem)
    data = sorted(n for n in in_wheel if n.startswith("graph_auth/") and not n.endswith(".py"))
    print(f"sdist: {len(in_sdist)} files; wheel: {len(in_wheel)} files, package data: {', '.join(data)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
