"""README's examples run as written and its quick start matches what CI runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_controller_example_runs() -> None:
    block = next(b for b in _python_blocks() if "def my_calibration" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    estimate = namespace["estimate"]
    assert estimate.shape == (64, 64)  # type: ignore[attr-defined]


def test_quick_start_has_exactly_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)
    assert commands == [
        "pip install -e . && aimc run scenarios/pulse_response.toml --out results/pulse_response",
        'pip install -e ".[test]" && python -m pytest',
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install' in ci and '-e ".[test]"' in ci and "python -m pytest" in ci


def test_every_shipped_scenario_validates() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        text = path.read_text()
        assert text.startswith("#"), f"{path.name} must document itself at its top"
        if "[program]" not in text:
            continue  # budget studies are checked by the calibration tests
        result = subprocess.run([sys.executable, "-m", "emulator", "validate", str(path)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
