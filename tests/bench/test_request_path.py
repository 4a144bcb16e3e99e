"""``benchmarks.request_path``'s command line: ``--env`` settings for this tree's server only."""

from __future__ import annotations

import pytest

from benchmarks.request_path import _parser


def test_env_settings_are_parsed_in_order_and_keep_an_equals_sign_in_the_value() -> None:
    opts = _parser().parse_args(
        ["--env", "BENTOML_CONFIG_OPTIONS=tracing.excluded_urls=/explain,/predict", "--env", "EMPTY="]
    )
    assert dict(opts.env) == {
        "BENTOML_CONFIG_OPTIONS": "tracing.excluded_urls=/explain,/predict",
        "EMPTY": "",
    }
    assert _parser().parse_args([]).env == []


@pytest.mark.parametrize("bad", ["NOEQUALS", "=value"])
def test_a_setting_without_key_or_equals_sign_is_refused(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        _parser().parse_args(["--env", bad])
    assert stop.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
