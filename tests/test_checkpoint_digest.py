"""A checkpoint's sha256 digest (gan_jax/training/checkpoints.py's ``DIGEST_FILE``): written once orbax
finished the step (awaited or in the background), checked at restore; a changed or missing file is skipped as
damaged (kept, never deleted), and a checkpoint saved without a digest still restores."""

import json
import os

import chex
import pytest
from test_checkpoints import largest_file, save_steps, states  # noqa: F401 (a fixture)
from test_train import checkpoints as checkpoint_steps
from test_train import launch

from gan_jax.training import checkpoints


def flip_a_byte(path: str) -> None:
    """One byte of ``path``'s middle inverted: the file keeps its size."""
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_each_file_of_a_saved_step_has_its_sha256(states, tmp_path):  # noqa: F811
    with save_steps(str(tmp_path), states):
        pass
    for step in ("1", "2"):
        with open(tmp_path / step / checkpoints.DIGEST_FILE) as f:
            listed = json.load(f)["sha256"]
        assert sorted(listed) == checkpoints._step_files(str(tmp_path / step)) and len(listed) > 3
        name = os.path.relpath(largest_file(str(tmp_path / step)), tmp_path / step)
        assert listed[name] == checkpoints._sha256(str(tmp_path / step / name))


def test_a_background_save_gets_its_digest_once_awaited(states, tmp_path):  # noqa: F811
    mngr = checkpoints.checkpoint_manager(str(tmp_path), create=True)
    try:
        checkpoints.save(mngr, 1, states[1], wait=False)
    finally:
        checkpoints.close(mngr)
    assert os.path.exists(tmp_path / "1" / checkpoints.DIGEST_FILE)


@pytest.mark.parametrize("how", ["flipped byte", "missing digest", "garbled digest"])
def test_a_flipped_byte_is_skipped_for_the_step_before(states, tmp_path, how):  # noqa: F811
    """A byte flipped in the newest step's largest file (same size): orbax would restore it; the digest
    skips it for the step before. A step without a digest restores as it did before digests."""
    with save_steps(str(tmp_path), states) as mngr:
        digest = tmp_path / "2" / checkpoints.DIGEST_FILE
        if how == "flipped byte":
            flip_a_byte(largest_file(str(tmp_path / "2")))
        elif how == "missing digest":
            os.remove(digest)
        else:
            digest.write_text('{"sha256": ')
        state, step, skipped = checkpoints.restore_latest(mngr, states[2], "WORKDIR")
    if how == "missing digest":
        chex.assert_trees_all_equal(state, states[2])
        assert (step, skipped) == (2, [])
        return
    chex.assert_trees_all_equal(state, states[1])
    assert step == 1 and [s for s, _ in skipped] == [2]
    reason = "differs from its sha256 at save" if how == "flipped byte" else "does not parse"
    assert reason in skipped[0][1], skipped
    assert sorted(os.listdir(tmp_path)) == ["1", "2"]


def test_launch_skips_a_flipped_checkpoint_keeps_it_and_resumes_from_the_one_before(tmp_path):
    workdir = str(tmp_path / "run")
    first = launch(f"--workdir={workdir}", "--config.num_steps=20")
    assert first.returncode == 0, first.stderr
    assert checkpoint_steps(workdir) == [10, 20]
    flip_a_byte(largest_file(os.path.join(workdir, "checkpoints", "20")))
    proc = launch(f"--workdir={workdir}", "--config.num_steps=20")
    assert proc.returncode == 0, proc.stderr
    kept = os.path.join(workdir, "checkpoints_unreadable", "20")
    assert "skipped the unreadable checkpoint at step 20 (" in proc.stdout and "sha256" in proc.stdout
    assert "training nonsaturating/simultaneous from step 10 to 20" in proc.stdout, proc.stdout
    assert os.path.isdir(kept) and checkpoint_steps(workdir) == [10, 20]
