from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.config import DEFAULT_CONFIG, DEMO_CONFIG, AppConfig, ConfigError, load_config


def test_default_config_loads():
    config = load_config()
    assert config.model.classes == 37 and config.model.window_shape == (64, 128)
    assert config.model.positions == 9  # the default formats hold plates of up to 9 characters


def test_positions_are_raised_to_the_longest_format_read(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  positions: 7\nread:\n  formats: [br_old, mercosur_br]\n")
    assert load_config(path).model.positions == 7
    path.write_text("model:\n  positions: 7\nread:\n  formats: [br_old, pl]\n")
    assert load_config(path).model.positions == 8
    assert AppConfig.model_validate({"read": {"formats": ["ua"]}}).model.positions == 8


def test_unknown_key_is_named(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("scan:\n  min_plate_widht: 50\n")
    with pytest.raises(ConfigError, match="scan.min_plate_widht=50"):
        load_config(path)


def test_bad_value_is_named(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("track:\n  min_reads: -3\n")
    with pytest.raises(ConfigError, match="track.min_reads=-3"):
        load_config(path)


def test_read_formats_must_be_renderer_formats(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("read:\n  formats: [br_old, br_new]\n  constrain: true\n")
    with pytest.raises(ConfigError, match="read.formats: 'br_new' is not one of renderer.formats"):
        load_config(path)
    path.write_text("read:\n  formats: [br_old, mercosur_br]\n  constrain: true\n")
    check = load_config(path).format_check
    assert [f.name for f in check.formats] == ["br_old", "mercosur_br"] and check.constrain
    assert len(AppConfig().format_check.formats) == len(AppConfig().renderer.formats)


def test_invalid_yaml_and_missing_file(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("scan: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_default_yaml_documents_the_model_defaults():
    assert load_config(DEFAULT_CONFIG) == AppConfig()


def test_demo_config_only_narrows_the_plate_sizes():
    demo = load_config(DEMO_CONFIG)
    assert demo.model_copy(update={"scan": AppConfig().scan}) == AppConfig()
    assert demo.scan.min_plate_width > AppConfig().scan.min_plate_width


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["model", "scan", "track", "publish", "source", "junk"]), yaml_values, max_size=3))
def test_fuzzed_configs_load_or_fail_with_config_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        load_config(path)
    except ConfigError as error:
        assert str(error).startswith(f"config {path}")
