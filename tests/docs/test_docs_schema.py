"""The committed schema reference is exactly what the models generate (it cannot drift)."""

from pathlib import Path

from emulator.schema_doc import schema_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_docs_schema_matches_models() -> None:
    committed = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert committed == schema_markdown(), "docs/schema.md is stale: regenerate with `aimc schema > docs/schema.md`"


def test_every_scenario_field_is_documented() -> None:
    from emulator.scenario import HardwareConfig, Scenario, TileConfig

    for model in (Scenario, HardwareConfig, TileConfig):
        missing = [name for name, field in model.model_fields.items() if not field.description]
        assert not missing, f"{model.__name__} fields without a description: {missing}"
