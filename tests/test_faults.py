"""Issue 12, section 5: a full or read-only disk is an error message, not a crash; SIGTERM
backs up and stops; both runs resume by rerunning the same command.

The disks are small tmpfs mounts (root only; skipped with the reason elsewhere).
"""

import errno
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import tensorflow as tf
import yaml

from udgan_tf import training
from udgan_tf import config as config_lib
from udgan_tf import train
from udgan_tf.runs import (EventFile, RunDirectory, RunWriteError, append_text, atomic_write, atomic_write_bytes,
                           atomic_write_text, save_weights, weights_bytes)

from conftest import TINY_KNOBS

REPO = pathlib.Path(__file__).resolve().parents[1]
TINY_MODEL = {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8}


class Tmpfs:
    """A tmpfs mounted at ``path``; ``remount("size=16m")``, ``remount("ro")``."""

    def __init__(self, path):
        self.path = path

    def remount(self, *options):
        subprocess.run(["mount", "-o", ",".join(("remount",) + options), str(self.path)], check=True)

    def free_bytes(self):
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize


@pytest.fixture
def mount_tmpfs(tmp_path):
    """``mount_tmpfs(size_in_bytes)`` mounts a tmpfs of that size (rounded up to 4 KiB pages);
    every mount is unmounted at the end of the test."""
    mounted = []

    def mount(size, *options):
        path = tmp_path / f"tmpfs{len(mounted)}"
        path.mkdir()
        size = -(-size // 4096) * 4096
        command = ["mount", "-t", "tmpfs", "-o", ",".join((f"size={size}",) + options), "tmpfs", str(path)]
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip("no mount command here: the full-disk tests need to mount a small tmpfs")
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {result.stderr.strip()}")
        mounted.append(path)
        return Tmpfs(path)

    try:
        yield mount
    finally:
        for path in mounted:
            subprocess.run(["umount", "-l", str(path)], check=True)  # lazy: also while a killed process lingers


def tiny_config(path, **training):
    path.write_text(yaml.safe_dump({
        "dataset": {"name": "dsprites"},
        "model": TINY_MODEL,
        "training": {"steps": 6, "batch_size": 4, "log_every": 2, "image_every": 1000, "checkpoint_every": 1000,
                     "backup_every_steps": 2, "traversal_values": 3, **training},
    }))
    return path


def resolved(config_path):
    config = config_lib.load_config(config_path)
    config["model"].setdefault("seed", config["training"]["seed"])
    return config


def backed_up_step(config_path, backup_path):
    """Loads the backup into a fresh model (as a resumed run does) and returns its step."""
    model = training.build_model(resolved(config_path))
    model.load_weights(backup_path)
    return int(model.optimizer.iterations.numpy())


def command(config, out):
    return [sys.executable, "-m", "udgan_tf.train", "--config", str(config), "--output-dir", str(out)]


def run_training(config, out, timeout=600):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(command(config, out), capture_output=True, text=True, timeout=timeout, env=environment,
                          cwd=REPO)


def temporary_files(directory):
    return [p for p in pathlib.Path(directory).rglob("*") if ".tmp" in p.name]


def history_steps(run):
    return [int(row.split(",")[0]) for row in run.history_path.read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def weights_size(tmp_path_factory):
    """Bytes of the tiny model's weights file (backups and checkpoints), to size the disks."""
    config = tiny_config(tmp_path_factory.mktemp("size") / "tiny.yaml")
    return len(weights_bytes(training.build_model(resolved(config))))


# The write mechanism.

@pytest.mark.parametrize("code, remedy", [
    (errno.ENOSPC, "free space on that file system"),
    (errno.EDQUOT, "raise your quota"),
    (errno.EROFS, "remount that file system read-write"),
    (errno.EACCES, "make that directory writable"),
])
def test_a_failed_write_names_the_file_and_the_cause_and_keeps_the_old_file(tmp_path, code, remedy):
    target = tmp_path / "run.json"
    atomic_write_text(target, "good")

    def fails_half_way(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError(code, os.strerror(code))

    with pytest.raises(RunWriteError) as caught:
        atomic_write(target, fails_half_way)
    assert caught.value.path == target and caught.value.cause.errno == code
    assert str(caught.value) == f"cannot write {target}: {os.strerror(code)}"
    assert remedy in caught.value.remedy
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left behind


def test_a_write_into_a_full_file_system_leaves_the_old_file_and_frees_its_space(mount_tmpfs):
    disk = mount_tmpfs(64 * 1024)
    target = disk.path / "checkpoints" / "udgan.weights.h5"
    atomic_write_bytes(target, b"old" * 1000)
    free = disk.free_bytes()
    with pytest.raises(RunWriteError, match=re.escape(f"cannot write {target}: No space left on device")):
        atomic_write_bytes(target, b"x" * 128 * 1024)
    assert target.read_bytes() == b"old" * 1000
    assert temporary_files(disk.path) == [] and disk.free_bytes() == free

    history = disk.path / "history.csv"
    append_text(history, "step,loss\n1,0.5\n")
    with open(disk.path / "filler", "wb", buffering=0) as f, pytest.raises(OSError):  # fill the rest of the disk
        while True:
            f.write(b"f" * 4096)
    with pytest.raises(RunWriteError, match=re.escape(f"cannot write {history}: No space left on device")):
        append_text(history, "2,0.4\n" * 2000)
    assert history.read_text() == "step,loss\n1,0.5\n"  # never half a row


def test_weights_written_from_memory_load_like_save_weights(tmp_path):
    config = resolved(tiny_config(tmp_path / "tiny.yaml"))
    model = training.build_model(config)
    rng = np.random.default_rng(0)
    for variable in model.variables:  # every weight and optimizer slot, so a mix-up shows
        variable.assign(rng.integers(1, 100, variable.shape).astype(variable.dtype))
    save_weights(tmp_path / "memory.weights.h5", model)
    model.save_weights(tmp_path / "keras.weights.h5")

    def contents(path):
        items = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, item: items.__setitem__(
                name, item[()].tobytes() if isinstance(item, h5py.Dataset) else dict(item.attrs)))
        return items
    assert contents(tmp_path / "memory.weights.h5") == contents(tmp_path / "keras.weights.h5")

    loaded = training.build_model(config)
    loaded.load_weights(tmp_path / "memory.weights.h5")
    pairs = list(zip(model.variables, loaded.variables))
    for optimizer in ("generator_optimizer", "discriminator_optimizer", "siamese_optimizer"):
        pairs += zip(getattr(model, optimizer).variables, getattr(loaded, optimizer).variables)
    different = [mine.path for mine, theirs in pairs if not np.array_equal(mine.numpy(), theirs.numpy())]
    # Keras' saving skips SeedGenerator state (model.save_weights too): the knob sampler is not restored.
    assert set(different) <= {"knob_sampler/seed_generator_state"}, different


def read_events(path):
    """{(step, tag): summary value} of an event file; TensorFlow's reader (a torn record raises)."""
    return {(event.step, value.tag): value for event in tf.compat.v1.train.summary_iterator(str(path))
            for value in event.summary.value}


def test_event_files_hold_what_tf_summary_writes(tmp_path):
    image = np.random.default_rng(0).random((20, 30, 1), np.float32)
    writer = tf.summary.create_file_writer(str(tmp_path / "tf"))
    with writer.as_default(step=7):
        tf.summary.scalar("d_loss", 0.25)
        tf.summary.image("traversal", image[None])
    writer.close()
    events = EventFile(tmp_path / "ours")
    events.write(7, {"d_loss": 0.25}, {"traversal": image})

    theirs = read_events(next((tmp_path / "tf").glob("events.out.tfevents.*")))
    ours = read_events(events.path)
    assert list(ours) == list(theirs) == [(7, "d_loss"), (7, "traversal")]
    assert ours[7, "d_loss"].metadata == theirs[7, "d_loss"].metadata  # plugin "scalars"
    assert tf.make_ndarray(ours[7, "d_loss"].tensor) == tf.make_ndarray(theirs[7, "d_loss"].tensor) == np.float32(0.25)
    assert ours[7, "traversal"].metadata == theirs[7, "traversal"].metadata
    width, height, png = ours[7, "traversal"].tensor.string_val
    assert (width, height) == (b"30", b"20") == tuple(theirs[7, "traversal"].tensor.string_val[:2])
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(),
                                  tf.io.decode_png(theirs[7, "traversal"].tensor.string_val[2]).numpy())


def test_a_full_disk_is_an_error_for_the_event_file_and_loses_no_event(mount_tmpfs):
    """tf.summary's writer dropped these images silently on a full disk; ours raises."""
    disk = mount_tmpfs(64 * 1024)
    events = EventFile(disk.path / "logs")
    with pytest.raises(RunWriteError) as caught:
        for step in range(100):
            events.write(step, {"d_loss": float(step)},
                         {"traversal": np.random.default_rng(step).random((64, 64, 1), np.float32)})
    assert step > 3  # the first images fitted
    assert caught.value.path == events.path and caught.value.cause.errno == errno.ENOSPC
    assert str(caught.value) == f"cannot write {events.path}: No space left on device"
    assert sorted({s for s, _ in read_events(events.path)}) == list(range(step))  # whole records, none lost

    read_only = mount_tmpfs(64 * 1024, "ro")
    with pytest.raises(RunWriteError, match=re.escape(f"cannot write {read_only.path / 'logs'}: Read-only file system")):
        EventFile(read_only.path / "logs")


def test_fit_segments_end_epochs_at_the_same_steps_from_any_start():
    total, every = 11, 4
    for start in range(total + 1):
        segments = training.loop._fit_segments(start, total, every)
        ends, step = [], start
        for first, steps_per_epoch, epochs in segments:
            assert first == step
            for _ in range(epochs):
                step += steps_per_epoch
                ends.append(step)
        assert step == total
        assert ends == [s for s in (4, 8, 11) if s > start]  # as a run that never stopped logs them


def test_sigterm_handler_requests_a_stop_and_is_restored():
    class Monitor:
        stop_requested = False

    previous_calls = []
    previous = signal.signal(signal.SIGTERM, lambda *args: previous_calls.append(args))
    try:
        monitor = Monitor()
        with training.preemption.stop_on_sigterm(monitor):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)  # the handler runs between bytecodes of the main thread
        assert monitor.stop_requested and previous_calls == []
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert len(previous_calls) == 1  # the handler from before training is back
    finally:
        signal.signal(signal.SIGTERM, previous)


# Training into a disk that is full or read-only.

def test_a_read_only_output_dir_fails_before_training_with_exit_2(tmp_path, mount_tmpfs, capsys):
    disk = mount_tmpfs(1024 * 1024, "ro")
    out = disk.path / "run"
    code = train.main(["--config", str(tiny_config(tmp_path / "tiny.yaml")), "--output-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: the run could not start: cannot write {out}: Read-only file system" in err
    assert "Remount that file system read-write or choose another --output-dir, then rerun the same command." in err
    assert not out.exists()


def test_a_disk_full_before_the_first_step_leaves_nothing_that_blocks_a_rerun(tmp_path, mount_tmpfs, capsys):
    disk = mount_tmpfs(256 * 1024)
    with open(disk.path / "filler", "wb") as f:  # leaves two pages: config.yaml and run.json fit, the logs do not
        f.write(b"f" * (disk.free_bytes() - 2 * 4096))
    out = disk.path / "run"
    code = train.main(["--config", str(tiny_config(tmp_path / "tiny.yaml")), "--output-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(rf"error: the run could not start: cannot write {re.escape(str(out))}/\S+: No space left on "
                     r"device\. Free space on that file system", err), err
    assert list(out.iterdir()) == []  # what the failed start wrote is gone; prepare() accepts an empty directory


@pytest.mark.slow
def test_no_room_for_the_first_backup_is_an_error_not_a_segfault(tmp_path, mount_tmpfs, weights_size):
    """The issue's report: h5py used to crash (exit 139) while the first weights file filled the disk."""
    disk = mount_tmpfs(weights_size // 2)
    config, out = tiny_config(tmp_path / "tiny.yaml"), disk.path / "run"
    result = run_training(config, out)
    run = RunDirectory(out)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Segmentation" not in result.stderr
    assert (f"error: cannot write {run.backup_path}: No space left on device. Training stopped at step 2. No backup "
            "was written yet: free space on that file system (or raise your quota there) or choose another "
            "--output-dir, then rerun the same command with --overwrite to start again.") in result.stderr
    assert not run.backup_path.exists() and temporary_files(out) == []
    assert history_steps(run) == [2] and run.status()["status"] == "running"


@pytest.mark.slow
def test_a_full_disk_stops_training_keeps_the_backup_and_the_run_resumes_once_space_is_freed(
        tmp_path, mount_tmpfs, weights_size):
    # Room for the first backup and the small files, not for the temporary copy of the second backup.
    disk = mount_tmpfs(weights_size * 3 // 2)
    config, out = tiny_config(tmp_path / "tiny.yaml"), disk.path / "run"
    result = run_training(config, out)
    run = RunDirectory(out)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert (f"error: cannot write {run.backup_path}: No space left on device. Training stopped at step 4. The last "
            f"backup ({run.backup_path}, step 2) is intact: free space on that file system (or raise your quota "
            "there) or choose another --output-dir, then rerun the same command to resume from step 2."
            ) in result.stderr
    assert backed_up_step(config, run.backup_path) == 2  # the old backup is whole
    assert temporary_files(out) == []

    disk.remount("size=16m")
    result = run_training(config, out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from step 2" in result.stdout
    assert run.status()["status"] == "finished" and run.status()["step"] == 6
    assert history_steps(run) == [2, 4, 6]  # step 4 trained again, logged once
    assert run.traversal_path.exists() and run.checkpoint_path.exists()


# SIGTERM.

@pytest.mark.slow
def test_sigterm_backs_up_the_current_step_and_the_run_resumes_to_the_end(tmp_path):
    config = tiny_config(tmp_path / "tiny.yaml", steps=200, log_every=4, checkpoint_every=8,
                         backup_every_steps=1000)  # the only backup before the end is SIGTERM's
    out, run = tmp_path / "run", RunDirectory(tmp_path / "run")
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(tmp_path / "stdout", "w") as stdout, open(tmp_path / "stderr", "w") as stderr:  # no pipe fills up
        process = subprocess.Popen(command(config, out), cwd=REPO, env=environment, stdout=stdout, stderr=stderr)
    deadline = time.time() + 300
    while process.poll() is None and time.time() < deadline and not (
            run.history_path.exists() and len(run.history_path.read_text().splitlines()) > 3):
        time.sleep(0.05)
    assert process.poll() is None, "training ended before it could be stopped"
    time.sleep(0.1)  # most likely mid-epoch
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    stderr = (tmp_path / "stderr").read_text()
    assert process.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    match = re.search(r"Training stopped at step (\d+) of 200 \(SIGTERM\)\. The whole training state is backed up "
                      rf"in {re.escape(str(run.backup_path))}: rerun the same command to resume from step (\d+)\.",
                      stderr)
    assert match and match.group(1) == match.group(2), stderr[-3000:]
    stopped = int(match.group(1))
    assert 12 <= stopped < 200
    assert backed_up_step(config, run.backup_path) == stopped
    assert run.status()["status"] == "running" and run.status()["step"] == stopped

    result = run_training(config, out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resumed from step {stopped}" in result.stdout
    assert run.status()["status"] == "finished" and run.status()["step"] == 200
    steps = history_steps(run)
    assert steps == sorted(set(steps)) and steps[-1] == 200  # no step logged twice
    assert [s for s in steps if s > stopped] == list(range(stopped // 4 * 4 + 4, 201, 4))  # realigned


def test_a_full_disk_stops_the_evaluation_with_a_message_and_keeps_the_previous_report(mount_tmpfs, capsys):
    """The evaluation report is written in <output>.partial; a full disk there is exit 3 naming
    the file, the partial report is removed and the previous report stays as it was."""
    import shutil

    from udgan_tf import evaluate

    disk = mount_tmpfs(640 * 1024)
    run = shutil.copytree(pathlib.Path(__file__).parent / "data" / "legacy_flat_run", disk.path / "run")
    previous = run / "evaluation"
    previous.mkdir()
    (previous / "report.md").write_text("previous report")
    (disk.path / "filler").write_bytes(b"\0" * (disk.free_bytes() - 16 * 1024))  # room for a picture or two
    code = evaluate.main(["--run-dir", str(run), "--metrics", "mig", "--num-points", "100"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "No space left on device" in err and str(run / "evaluation.partial") in err
    assert "free space on that file system" in err and "Traceback" not in err
    assert (previous / "report.md").read_text() == "previous report"
    assert not (run / "evaluation.partial").exists()


def test_a_full_disk_stops_the_export_with_a_message_and_leaves_no_version(mount_tmpfs, capsys):
    """TensorFlow reports a full disk during a SavedModel write as ResourceExhaustedError; the
    export turns it into exit 3 naming the version and the cause, and removes the partial one."""
    from udgan_tf import export

    disk = mount_tmpfs(256 * 1024)
    code = export.main(["--run-dir", str(pathlib.Path(__file__).parent / "data" / "legacy_flat_run"),
                        "--export-base", str(disk.path / "exports"), "--model-name", "udgan"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"cannot write {disk.path / 'exports' / 'udgan' / '1'}: No space left on device" in err
    assert "free space on that file system" in err and "Traceback" not in err
    assert list((disk.path / "exports" / "udgan").iterdir()) == []
