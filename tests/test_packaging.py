"""The declared floors are the versions CI's lowest run installs: setup.cfg (install_requires and
the drf extra) and .ci/lowest.txt name the same packages at the same versions."""
import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(>=|==)\s*([0-9][0-9.]*)$")


def _version(text: str) -> tuple:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def _requirements(lines, operator: str) -> dict:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        assert match and match[2] == operator, f"{line!r}: expected name{operator}version"
        found[match[1].lower()] = _version(match[3])
    return found


def test_the_lowest_run_installs_every_floor_setup_cfg_declares():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = config["options"]["install_requires"].splitlines()
    declared += config["options.extras_require"]["drf"].splitlines()
    floors = _requirements(declared, ">=")
    lowest = _requirements((ROOT / ".ci" / "lowest.txt").read_text().splitlines(), "==")
    assert lowest == floors
