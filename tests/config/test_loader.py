"""Config layering and one-line errors (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemma_serve.config import default_config, load_config
from gemma_serve.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_configs_default_yaml_is_the_embedded_default() -> None:
    assert load_config(ROOT / "configs" / "default.yaml", env={}) == default_config()
    assert load_config(None, env={}) == default_config()


def test_layers_file_then_env_then_flags(tmp_path: Path) -> None:
    f = tmp_path / "d.yaml"
    f.write_text((ROOT / "configs" / "default.yaml").read_text() + "server: {port: 9001}\n")
    env = {"GEMMA_SERVE_SERVER__PORT": "9002", "GEMMA_SERVE_MODELS__0__MAX_MODEL_LEN": "2048"}
    cfg = load_config(f, env={})
    assert cfg.server.port == 9001
    cfg = load_config(f, env=env)
    assert (cfg.server.port, cfg.models[0].max_model_len) == (9002, 2048)
    cfg = load_config(f, env=env, overrides=["server.port=9003"])
    assert cfg.server.port == 9003


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["models.0.variant=2b"], "models.0.variant='2b': not allowed (allowed: '270m'"),
        (["models.0.dtype=float16"], "models.0.dtype='float16'"),
        (["models.0.colour=red"], "models.0.colour: unknown key"),
        (["server.port=0"], "server.port=0"),
        (["models.0.autoscaling.min_replicas=3"], "min_replicas=3 exceeds max_replicas=1"),
        (["nonsense"], "not of the form key.path=value"),
        (["models.5.name=x"], "models.5 is not a list index"),
    ],
)
def test_wrong_values_are_one_line_errors_naming_the_key(
    overrides: list[str], fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env={}, overrides=overrides)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_environment_prefix_ignores_non_override_variables() -> None:
    cfg = load_config(None, env={"GEMMA_SERVE_API_KEYS": "k1,k2", "GEMMA_SERVE_CACHE": "/x"})
    assert cfg == default_config()


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml", env={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, env={})
