"""Tests for jaxopt_scratch/_cli/ (main.py, seeds.py, plotting.py), by subprocess."""

import csv
import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jax
import numpy as np
import pytest

import jaxopt_scratch as jos
from jaxopt_scratch._cli import main as _main
from jaxopt_scratch._engine import sweep as _engine_sweep

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run_cli(*args, cwd, code=None):
    """Runs ``python -m jaxopt_scratch ARGS`` (or ``python -c CODE``) in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    command = ["-c", code] if code is not None else ["-m", "jaxopt_scratch", *args]
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600, check=False)


def _rows(stdout):
    """The table rows under the dashed line, split on runs of 2+ spaces."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---"))
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return {row[0]: row for row in rows}


def _assert_png(path):
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_help_lists_commands_and_defaults(tmp_path, capsys):
    top = _run_cli("--help", cwd=tmp_path)  # `python -m jaxopt_scratch`, in a fresh process
    assert top.returncode == 0 and all(c in top.stdout for c in ("race", "sweep", "seeds"))
    # The sub-commands' help through the same main() in this process (a fresh process each
    # costs ~3 s of CPU to import jax; the entry point is checked above).
    for command, texts in [
            ("race", ("--problem", "beale_like", "--out", "race.png", "--clip", "10.0", "--tol")),
            ("sweep", ("xor_a", "--num-lrs", "64", "1e-4,1e2", "sweep.png", "--max-batch"))]:
        with pytest.raises(SystemExit) as exit_info:
            _main.main([command, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        for text in texts:
            assert text in out, (command, text)


# P4 of docs/tutorial_claims.rst (float64): final loss, x, y and the number of steps with a
# clipped gradient.
P4 = {"sgd": (0.86497736, -0.27759641, 3.1417105, 144),
      "momentum": (0.65272298, -0.50855073, 2.4177542, 29),
      "rmsprop": (0.85251387, -0.28743713, 3.0942335, 133),
      "adam": (0.82106221, -0.31343221, 2.9774056, 74)}


def test_race_defaults_are_tutorial_3s_showdown(tmp_path):
    proc = _run_cli("race", "--out", "race.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "beale_like" in proc.stdout and "clipped to [-10, 10]" in proc.stdout
    rows = _rows(proc.stdout)
    assert list(rows) == ["sgd", "momentum", "rmsprop", "adam"]
    for name, (loss, x, y, clipped) in P4.items():
        _, _lr, final, position, to_tol, clipped_steps = rows[name]
        # Float32 vs the float64 reference: the rtol of docs/tutorial_claims.rst (5e-4 for Adam,
        # else 2e-5), and the table's 6 significant digits / 4 decimals.
        rtol = 5e-4 if name == "adam" else 2e-5
        assert float(final) == pytest.approx(loss, rel=rtol + 1e-6)
        px, py = (float(v) for v in position.strip("()").split(","))
        assert (px, py) == pytest.approx((x, y), abs=1e-4 + rtol * 4)
        assert int(clipped_steps) == clipped
        assert to_tol != "never"  # the default tolerance is 1.0; all end below it
    assert "wrote race.png" in proc.stdout and "race" in proc.stderr  # the progress bar
    _assert_png(tmp_path / "race.png")


def test_race_on_another_problem_with_flags(tmp_path):
    proc = _run_cli("race", "--problem", "bowl", "--optimizers", "sgd,adam", "--lr", "sgd=0.1",
                "--lr", "adam=0.5", "--steps", "14", "--clip", "0", "--tol", "0.05",
                "--no-plot", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = _rows(proc.stdout)
    # P1: (4, 3) * 0.8^14 and 25 * 0.64^14; the loss first drops to <= 0.05 at k = 14.
    name, lr, final, position, to_tol = rows["sgd"]
    assert (name, lr, position, to_tol) == ("sgd", "0.1", "(0.1759, 0.1319)", "14")
    assert float(final) == pytest.approx(0.048357033, rel=2e-5)
    assert "clipped steps" not in proc.stdout and proc.stderr == ""
    assert not list(tmp_path.iterdir())  # --no-plot writes nothing


def test_sweep_small_grid_matches_jos_run(tmp_path):
    proc = _run_cli("sweep", "--num-lrs", "4", "--lr-range", "1e-2,1", "--steps", "200",
                    "--seeds", "2", "--out", "sweep.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ("4 learning rates 0.01 .. 1 (log-spaced), 200 updates, mean over 2 random inits"
            in proc.stdout)
    rows = _rows(proc.stdout)
    assert list(rows) == ["sgd", "momentum", "rmsprop", "adam"]
    grid = np.geomspace(1e-2, 1.0, 4)
    makers = {"sgd": jos.sgd, "momentum": lambda lr: jos.sgd(lr, momentum=0.9),
              "rmsprop": lambda lr: jos.rmsprop(lr, eps_in_sqrt=False), "adam": jos.adam}
    xor = jos.problems.get("xor_a")
    for name in ("sgd", "adam"):  # two rows checked against an independent jos.run
        _, best_lr, best_loss, _, width, diverged = rows[name]
        lr = grid[np.argmin(np.abs(np.log(grid / float(best_lr))))]
        tx = makers[name](lr)  # one optimizer object: jos.run compiles once for both seeds
        finals = []
        for seed in (0, 1):  # the documented init of seed s: split(key(s))[0]
            init_key = jax.random.split(jax.random.key(seed))[0]
            finals.append(float(jos.run(tx, xor.loss_fn, xor.init_params(init_key), 200,
                                        record_every=None).final_loss))
        # The mean over the seeds; 3 significant digits printed.
        assert float(best_loss) == pytest.approx(np.mean(finals), rel=6e-3)
        assert diverged == "0/4"
        assert float(width) >= 0.0
    assert "sgd:" in proc.stderr and "adam:" in proc.stderr  # one progress bar each
    _assert_png(tmp_path / "sweep.png")


def test_seeds_prints_the_tutorials_beside_the_library(tmp_path):
    proc = _run_cli("seeds", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # docs/tutorial_claims.rst, "At a glance": only tutorial 3's bowl (P1, 4 rows) and the
    # step-0 rows of both ravine tables (P2, P3) reproduce.
    assert "6 of 31 printed rows reproduce" in out
    bowl = out.split("tutorial 3: bowl")[1].split("\n\n")[0]
    assert bowl.count("[reproduces]") == 4 and "DIFFERS" not in bowl
    assert "final loss=12.690121" in out and "final loss=0.864977" in out  # printed vs true
    assert "converged at step=817" in out and "converged at step=never" in out
    assert "theta=4.04472223" in out  # P5 after 1000 updates (float64)
    assert "tutorial 1: " in out and "tutorial 4: " in out  # the two that print no numbers
    # The output cites a page that ships with the repository.
    assert out.rstrip().endswith("docs/tutorial_claims.rst (P1-P9).")
    assert (REPO / "docs" / "tutorial_claims.rst").is_file()


@pytest.mark.parametrize("args, message", [
    (("race", "--problem", "banana"), "unknown problem 'banana'; known problems: bowl,"),
    (("sweep", "--problem", "nope"), "unknown problem 'nope'"),
    (("sweep", "--optimizers", "adam,bogus"), "unknown optimizer 'bogus'; known optimizers:"),
    (("sweep", "--lr-range", "1,0.1"), "--lr-range needs 0 < LOW < HIGH"),
    (("sweep", "--lr-range", "fast"), "--lr-range must be LOW,HIGH"),
    (("sweep", "--num-lrs", "1"), "--num-lrs must be at least 2"),
    (("race", "--steps", "0"), "expected a positive integer"),
    (("race", "--lr", "adamw=0.1"), "which is not racing"),
    (("race", "--lr", "sgd=-1"), "learning rates must be > 0"),
    (("sweep", "--frobnicate"), "unrecognized arguments: --frobnicate"),
    ((), "choose a command: race, sweep, lr-find, pbt or seeds"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    proc = _run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxopt-scratch: error: ")
    assert message in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (("--out", "{tmp}"), "is a directory; give a file name in it, for example '{tmp}/sweep.png'"),
    (("--out", "noext"), "has no extension, so its format is unknown; end it in one of .png"),
    (("--out", "x.jpgx"), "ends in '.jpgx', which is not a figure format; use one of .png"),
    (("--out", "{tmp}/missing/s.png"), "does not exist; create it or choose another path"),
    (("--no-plot", "--csv", "{tmp}"), "--csv '{tmp}' is a directory"),
    (("--prune", "halving:1"), "--prune must be none, halving, halving:ETA"),
    (("--metric", "bits"), "--metric 'bits' is not measured on xor_a; choose one of loss"),
    (("--num-samples", "4"), "--num-samples is for --sample random or sobol"),
    (("--memory-budget", "lots"), "--memory-budget must be a size such as 4GB or 512MB"),
])
def test_output_and_tuning_flags_are_checked_before_any_work(tmp_path, capsys, monkeypatch,
                                                             args, message):
    # In-process: these must fail before the first compile, so a sweep would be a bug.
    def no_training(*args, **kwargs):
        raise AssertionError("the sweep started")

    monkeypatch.setattr(_engine_sweep, "sweep", no_training)
    args = [a.format(tmp=tmp_path) for a in args]
    assert _main.main(["sweep", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert message.format(tmp=tmp_path) in err and err.startswith("jaxopt-scratch: error: ")
    assert _main.main(["lr-find", "--out", str(tmp_path)]) == 2  # the same check for lr-find
    assert "is a directory" in capsys.readouterr().err


def test_help_shows_each_default_once():
    parser = _main._parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    assert set(commands) == {"race", "sweep", "lr-find", "pbt", "seeds"}
    for name, sub in commands.items():
        formatter = sub._get_formatter()
        for action in sub._actions:
            shown = formatter._expand_help(action) if action.help else ""
            assert shown.count("default") <= 1, (name, shown)
            assert not any(f"(default: {v})" in shown for v in ("None", "False", "[]"))
    sweep_help = " ".join(commands["sweep"].format_help().split())
    assert "updates per run (default: the problem's reference count)" in sweep_help
    assert "number of learning rates (default: 64)" in sweep_help


def test_sweep_tuning_flags_csv_and_lr_find_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _main.main(["sweep", "--optimizers", "adam", "--sample", "sobol", "--num-samples",
                       "9", "--steps", "90", "--seeds", "2", "--prune", "halving",
                       "--metric", "accuracy", "--csv", "runs.csv", "--out", "fig.svg",
                       "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "9 learning rates drawn log-uniformly from 0.0001 .. 100 (sobol, seed 0)" in out
    # Rungs at 10 and 30 steps: 9 -> 3 -> 1 configurations of 2 seeds, 18 * 10 + 6 * 20 + 2 * 60.
    assert "rungs at 10, 30 steps, by accuracy): 420 of 1620 steps trained" in out
    assert "best accuracy" in out and "wrote runs.csv" in out and "wrote fig.svg" in out
    assert "memory: about" in out and "groups of 18 runs" in out  # the estimate is printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.svg", "runs.csv"]  # exactly
    with open("runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 18 and set(rows[0]) == {"optimizer", "learning_rate", "seed",
                                                 "final_loss", "diverged", "accuracy",
                                                 "stopped_at"}
    assert sorted({int(r["stopped_at"]) for r in rows}) == [10, 30, 90]
    code = _main.main(["lr-find", "--optimizers", "sgd", "--steps", "30", "--seeds", "1",
                       "--lr-range", "1e-3,100", "--out", "lr.pdf", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    row = _rows(out)["sgd"]
    found = jos.lr_find(jos.sgd, jos.problems.get("xor_a").loss_fn,
                        jos.problems.get("xor_a").init_params(), num_steps=30,
                        start_learning_rate=1e-3, end_learning_rate=100.0)
    assert float(row[1]) == pytest.approx(found.suggestion, rel=2e-3)  # 3 digits printed
    assert (tmp_path / "lr.pdf").read_bytes().startswith(b"%PDF")


def test_pbt_prints_the_population_and_plots_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _main.main(["pbt", "--steps", "24", "--population", "6", "--interval", "6",
                       "--lr-range", "1e-3,1", "--out", "pbt.png", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "6 members, learning rates from 0.001 .. 1 (sobol, seed 0), 24 updates; every 6 " \
           "steps the worst 0.25 copy the best (by loss)" in out
    rows = _rows(out)
    assert len(rows) == 6 and all(0.001 <= float(r[2]) <= 1 for r in rows.values())
    best = next(iter(rows))  # the table is sorted, best first
    assert f"best member {best}: learning rate by interval (steps 0, 6, 12, 18): " in out
    assert "memory: about" in out
    _assert_png(tmp_path / "pbt.png")
    assert _main.main(["pbt", "--optimizer", "adam,sgd", "--no-plot"]) == 2
    assert "--optimizer takes one optimizer" in capsys.readouterr().err
    assert _main.main(["pbt", "--fraction", "0.9", "--no-plot", "--steps", "4"]) == 2
    assert "--fraction: `fraction` must be a number in (0, 0.5]" in capsys.readouterr().err


def test_an_oversize_sweep_is_refused_before_it_starts(capsys, monkeypatch):
    from jaxopt_scratch._engine import programs as _programs

    def no_training(*args, **kwargs):
        raise AssertionError("the sweep started")

    monkeypatch.setattr(_programs, "run_chunk", no_training)
    # 64 runs of xor_a with sgd keep about 11 KB and need about 23 KB more in one call.
    assert _main.main(["sweep", "--optimizers", "sgd", "--max-batch", "64", "--memory-budget",
                       "16KB", "--seeds", "1", "--steps", "10", "--no-plot",
                       "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert re.search(r"error: This sweep needs about .* with --max-batch 64 .*, more than its "
                     r"16.0 KB budget\. Lower --max-batch to \d+ or less", err), err


def test_missing_matplotlib_still_prints_the_table(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from jaxopt_scratch._cli.main import main\n"
            "raise SystemExit(main(['race', '--problem', 'bowl', '--steps', '3', "
            "'--no-progress']))")
    proc = _run_cli(cwd=tmp_path, code=code)
    assert proc.returncode == 1
    assert "sgd" in proc.stdout and "final loss" in proc.stdout
    assert "not writing race.png: matplotlib is not installed" in proc.stderr
    assert not (tmp_path / "race.png").exists()


def test_console_script_entry_point_resolves():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, func = scripts["jaxopt-scratch"].split(":")
    assert getattr(importlib.import_module(module), func) is _main.main
