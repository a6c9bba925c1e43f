"""The oracle protocol works and the reference environment is the version the suite is written for."""

from conftest import REFERENCE_VERSION


def test_reference_environment_versions(oracle):
    found = oracle("environment", echo=7)
    assert found["aihwkit"] == REFERENCE_VERSION
    assert str(found["torch"]).startswith("2.10.0")
    assert found["echo"] == 7
