"""Faults that were silent or disguised: each a user's mistake in one line (exit 2) before anything is
written, or a bug with its traceback (exit 1)."""

import os

from test_train import launch, one_line_error


def test_an_unknown_config_game_is_one_line_naming_the_choices(tmp_path):
    workdir = tmp_path / "run"
    proc = launch(f"--workdir={workdir}", "--config.game=bogus")
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert "config.game 'bogus'" in line and "choose one of: minimax, nonsaturating" in line, line
    assert not os.path.exists(workdir)
