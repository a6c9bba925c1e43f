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


def test_readme_drift_example_and_command_validate() -> None:
    """The drift section's TOML (on P of the toy's tile) and its example command are valid as written."""
    import shlex
    import tomllib

    from emulator.documents import apply_overrides
    from emulator.scenario import validate_document

    section = README.split("## Drift and recalibration policies", 1)[1].split("\n## ", 1)[0]
    snippet = tomllib.loads(re.findall(r"```toml\n(.*?)```", section, flags=re.S)[0])
    command = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)[0].replace("\\\n", " ")
    words = shlex.split(command)
    assert words[:2] == ["aimc", "run"]
    scenario = ROOT / words[2]
    document = tomllib.loads(scenario.read_text())
    document["hardware"]["tiles"]["layer0"]["arrays"]["P"] = snippet["hardware"]["tiles"]["layer0"]["arrays"]["P"]
    document["hardware"]["temperature"] = snippet["hardware"]["temperature"]
    validate_document(document)
    overrides = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
    scenario_with_overrides = validate_document(apply_overrides(tomllib.loads(scenario.read_text()), overrides))
    assert scenario_with_overrides.program.params["recalibrate_every_ns"] == 4e6
