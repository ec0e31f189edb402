"""Runs optax 0.2.8's own test files with ``jaxopt_scratch`` in place of optax, and counts.

Opt-in (never collected by pytest; the names do not match ``test_*.py``)::

    python tests/optax_suite/run_optax_tests.py                  # the issue-12 set
    python tests/optax_suite/run_optax_tests.py --extra          # plus base/numerics/... tests
    python tests/optax_suite/run_optax_tests.py --files 'tree_utils/*_test.py' --json out.json

The test files are read from the installed optax package at run time (the wheel ships them;
nothing of optax is copied into this repository). Each file runs twice, in a fresh
interpreter each time (``_shim.py``): once with optax itself (the baseline) and once with every
``optax`` module served by ``jaxopt_scratch`` (optax's test helpers ``x64_precision`` and
``abs_sq`` stay optax's unless ``--strict``). Among the tests that pass with optax, each is then
*passed*, *failed* (ran and did not pass: a numerical or behavioural difference, or an error),
*cannot run* (it needs an optax name that jaxopt_scratch lacks; that name is recorded) or
*skipped* (the test skipped itself under jaxopt_scratch; the reason is listed). The report ends with the missing names ordered by how many tests each blocks.
Baselines are cached by file content in ``--cache`` (default: the system temp directory).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import fnmatch
import hashlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
SHIM = HERE / "_shim.py"
# The "Done when" of issue 12, plus optax.microbatching (a top-level name, `optax.microbatch`).
DEFAULT_FILES = ("_src/alias_test.py", "_src/transform_test.py", "transforms/*_test.py",
                 "schedules/*_test.py", "tree_utils/*_test.py", "microbatching/*_test.py")
# Base and numerics (issue 12, item 3), reported separately with --extra.
EXTRA_FILES = ("_src/base_test.py", "_src/numerics_test.py", "_src/linear_algebra_test.py",
               "_src/update_test.py", "_src/utils_test.py", "_src/combine_test.py")


def optax_root() -> pathlib.Path:
    spec = importlib.util.find_spec("optax")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("optax is not installed; `pip install optax==0.2.8` (a test dependency).")
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def run_file(mode: str, path: pathlib.Path, timeout: float, shards: int = 1) -> dict:
    """One file's results; with ``shards`` > 1 its tests are split over that many processes."""
    if shards > 1:
        with concurrent.futures.ThreadPoolExecutor(max_workers=shards) as pool:
            parts = list(pool.map(lambda i: _run_shard(mode, path, timeout, f"{i}/{shards}"),
                                  range(shards)))
        errors = [p["error"] for p in parts if p.get("error")]
        return {"results": {k: v for p in parts for k, v in p["results"].items()},
                "error": "; ".join(errors) if errors else None,
                "seconds": max(p["seconds"] for p in parts)}
    return _run_shard(mode, path, timeout, "0/1")


def _run_shard(mode: str, path: pathlib.Path, timeout: float, shard: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "result.json"
        start = time.monotonic()
        env = {**os.environ, "JOS_OPTAX_SUITE_SHARD": shard}
        try:
            proc = subprocess.run([sys.executable, str(SHIM), mode, str(path), str(out)],
                                  capture_output=True, text=True, timeout=timeout, check=False,
                                  env=env)
        except subprocess.TimeoutExpired:
            # The shim rewrites its results after every test: keep those that finished.
            done = json.loads(out.read_text())["results"] if out.exists() else {}
            return {"results": done, "seconds": timeout,
                    "error": f"timeout after {timeout:.0f} s ({len(done)} tests finished)"}
        seconds = time.monotonic() - start
        if not out.exists():
            return {"results": {}, "error": (proc.stderr or proc.stdout)[-2000:], "seconds": seconds}
        data = json.loads(out.read_text())
        data["seconds"] = seconds
        return data


def baseline(path: pathlib.Path, cache: pathlib.Path, timeout: float) -> dict:
    import optax  # the cache key only

    key = hashlib.sha256(path.read_bytes() + optax.__version__.encode()).hexdigest()[:20]
    cached = cache / f"optax_baseline_{path.stem}_{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    data = run_file("optax", path, timeout)
    if not data.get("error"):
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(data))
    return data


_COUNTED = ("passed", "failed", "cannot run", "skipped", "unfinished")

# Documented deviations (README.md, "Where optax's own tests disagree"): tests that fail, or
# cannot run, for a reason we keep. ``fnmatch`` patterns of "<file>::<Class>::<test>" -> why.
# Each behavioural one is pinned by a test of our own suite (named after the reason).
EXPECTED = {
    # test_explicit_dtype{9,10,11}: bfloat16 params, no state dtype, for sgd(momentum)/adam/adamw.
    "_src/alias_test.py::AliasTest::test_explicit_dtype9": (
        "moments are kept in at least float32 (bfloat16 params get float32 `mu`/`trace` unless "
        "`mu_dtype`/`accumulator_dtype` asks for less; test_hardening_precision.py)"),
    "_src/alias_test.py::AliasTest::test_explicit_dtype1[01]": (
        "moments are kept in at least float32 (bfloat16 params get float32 `mu`/`trace` unless "
        "`mu_dtype`/`accumulator_dtype` asks for less; test_hardening_precision.py)"),
    "_src/transform_test.py::TransformTest::test_lion_invalid_mode_raises": (
        "jos raises the ValueError for an unknown `mode` in the factory, optax only in "
        "`update` (tests/test_adaptive_adam.py)"),
    "schedules/_inject_test.py::InjectHyperparamsTest::test_hyperparam_default_dtype_*": (
        "injected float hyperparameters are float32 for bfloat16/float16 params (optax: the "
        "params' dtype, where b2=0.999 rounds to 1.0) (tests/test_wrappers_hyper.py)"),
    "schedules/_schedule_test.py::PolynomialTest::test_zero_steps_schedule": (
        "a concrete negative `transition_steps` raises ValueError (optax: a constant schedule)"),
    "schedules/_schedule_test.py::ExponentialTest::test_nonvalid_transition_steps*": (
        "a concrete negative `transition_steps` raises ValueError (optax: a constant schedule)"),
    "schedules/_schedule_test.py::WarmupCosineDecayTest::test_raises_when_decay_equals_warmup": (
        "`decay_steps == warmup_steps` gives the limit (peak, then `end_value`), as a traced "
        "sweep over warmup lengths needs; optax raises (tests/test_schedules.py)"),
    "schedules/_schedule_test.py::OneCycleTest::test_nonpositive_transition_steps": (
        "`transition_steps=0` gives the limit (the final value) so it may be traced; optax "
        "raises (tests/test_schedules_warmup.py)"),
    "transforms/_combining_test.py::ExtraArgsTest::test_extra_args": (
        "integer params are refused with a TypeError that says to cast them (an integer "
        "cannot take a fractional step); optax runs Adam on int32 params"),
    "transforms/_combining_test.py::PartitionTest::test_labels_mismatch*": (
        "`trace(decay=1.0)` (a momentum that never forgets) is refused at construction, like "
        "every decay of 1; the test uses it only as a stand-in transform"),
    "tree_utils/_state_utils_test.py::StateUtilsTest::test_tree_get_all_with_path": (
        "the test compares paths that name the state class; without a stateful schedule "
        "jos.inject_hyperparams keeps InjectHyperparamsState (optax 0.2.8 always uses "
        "InjectStatefulHyperparamsState)"),
    "_src/alias_test.py::LBFGSTest::test_preconditioning_by_lbfgs_on_*": (
        "the test calls optax's private `transform._precondition_by_lbfgs`; jos's L-BFGS "
        "direction is tested in tests/test_lbfgs.py (issue 11)"),
    "_src/alias_test.py::LBFGSTest::test_multiclass_logreg*": (
        "the test needs `optax.losses.softmax_cross_entropy_with_integer_labels`; losses are "
        "out of scope (jos has no losses subpackage)"),
    "transforms/_masking_test.py::MaskedTest::test_mask_compatible_callable_pytree": (
        "the test patches optax's private `_masking._mask_callable`; jos's equivalent is "
        "covered in tests/test_combine.py"),
}


# Parameterized tests are numbered, not named: these match a test by its failure instead.
# (file pattern, text in the failure) -> why.
EXPECTED_BY_FAILURE = {
    ("_src/alias_test.py", "DeprecationWarning not triggered"): (
        "the test asserts optax's DeprecationWarning for `optimistic_adam`; jos keeps the name "
        "without a warning (no older API to move users off; our suite runs warnings as errors)"),
}


def expected_reason(test_id: str, detail: str = "") -> str | None:
    """Why ``test_id`` (which failed with ``detail``) is a documented deviation, or None."""
    for pattern, reason in EXPECTED.items():
        if fnmatch.fnmatchcase(test_id, pattern):
            return reason
    for (file_pattern, text), reason in EXPECTED_BY_FAILURE.items():
        if fnmatch.fnmatchcase(test_id.split("::", 1)[0], file_pattern) and text in detail:
            return reason
    return None


def _short(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", help="globs relative to the optax package")
    parser.add_argument("--extra", action="store_true", help="also run " + ", ".join(EXTRA_FILES))
    parser.add_argument("--jobs", type=int, default=1, help="files run in parallel (default 1)")
    parser.add_argument("--shards", type=int, default=1,
                        help="split each file's jaxopt_scratch run over this many processes")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per file and mode")
    parser.add_argument("--cache", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "jos_optax_suite")
    parser.add_argument("--json", type=pathlib.Path, help="write every test's outcome here")
    parser.add_argument("--strict", action="store_true",
                        help="also serve optax's test helpers (x64_precision, abs_sq) from jos")
    parser.add_argument("--show-failures", type=int, default=40,
                        help="list up to this many failed tests with their first error line")
    args = parser.parse_args(argv)

    root = optax_root()
    if args.strict:
        os.environ["JOS_OPTAX_SUITE_STRICT"] = "1"
    patterns = list(args.files or DEFAULT_FILES) + (list(EXTRA_FILES) if args.extra else [])
    files = sorted({p for pattern in patterns for p in root.glob(pattern)})
    if not files:
        print(f"No optax test files match {patterns} under {root}. The optax wheel ships its "
              f"tests; if yours does not, fetch the sdist: "
              f"`pip download optax==0.2.8 --no-binary :all: --no-deps`.")
        return 2

    def both(path):
        return (path, baseline(path, args.cache, args.timeout),
                run_file("jos", path, args.timeout, args.shards))

    totals = collections.Counter()
    blocked_by = collections.Counter()
    failures, skips, per_file, report = [], [], [], {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, base, ours in pool.map(both, files):
            rel = str(path.relative_to(root))
            counts = collections.Counter()
            for problem in ("error",):
                if base.get(problem):
                    print(f"[{rel}] baseline run failed: {base[problem][-500:]}")
                if ours.get(problem):
                    print(f"[{rel}] jaxopt_scratch run failed: {ours[problem][-500:]}")
            for nodeid, result in base["results"].items():
                if result["outcome"] != "passed":
                    counts["not passing with optax"] += 1
                    continue
                mine = ours["results"].get(nodeid) or _collection_failure(ours, nodeid)
                outcome = mine["outcome"]
                if outcome == "passed":
                    counts["passed"] += 1
                elif outcome == "missing":
                    counts["cannot run"] += 1
                    blocked_by[mine["detail"]] += 1
                elif outcome == "unfinished":
                    counts["unfinished"] += 1
                elif outcome == "skipped":
                    counts["skipped"] += 1
                    skips.append(f"{rel}::{_short(nodeid)}: {mine['detail']}")
                else:
                    counts["failed"] += 1
                    failures.append(f"{rel}::{_short(nodeid)}: {mine['detail']}")
                report[f"{rel}::{_short(nodeid)}"] = mine
            totals.update(counts)
            per_file.append((rel, counts, base.get("seconds", 0), ours.get("seconds", 0)))
            print(f"{rel:45s} pass {counts['passed']:4d}  fail {counts['failed']:4d}  "
                  f"cannot-run {counts['cannot run']:4d}  skipped {counts['skipped']:3d}  "
                  + (f"unfinished {counts['unfinished']:3d}  " if counts["unfinished"] else "")
                  + f"(optax passes {sum(counts[k] for k in _COUNTED)}; "
                  f"jos run {ours.get('seconds', 0):.0f} s)", flush=True)

    ran = sum(totals[k] for k in _COUNTED)
    print(f"\nOf {ran} tests that pass with optax: {totals['passed']} pass with jaxopt_scratch, "
          f"{totals['failed']} fail, {totals['cannot run']} cannot run (a missing name), "
          f"{totals['skipped']} skip themselves"
          + (f", {totals['unfinished']} did not finish before the timeout"
             if totals["unfinished"] else "")
          + f"; {totals['not passing with optax']} tests do "
          f"not pass with optax itself and are not counted.")
    if blocked_by:
        print("\nMissing names, by the number of tests each blocks:")
        for name, n in blocked_by.most_common():
            print(f"  {n:4d}  {name}")
    if skips:
        reasons = collections.Counter(line.split(": ", 1)[-1] for line in skips)
        print("\nSkipped under jaxopt_scratch (passed with optax), by reason:")
        for reason, n in reasons.most_common():
            print(f"  {n:4d}  {reason}")
    documented = collections.defaultdict(list)
    for test_id, result in report.items():
        reason = expected_reason(test_id, result.get("detail", ""))
        if reason is not None and result["outcome"] in ("failed", "missing"):
            documented[reason].append(test_id)
    if documented:
        n = sum(len(v) for v in documented.values())
        print(f"\nDocumented deviations ({n} of the failed or cannot-run tests, by reason):")
        for reason, ids in documented.items():
            print(f"  {len(ids):4d}  {reason}")
    unexpected = [line for line in failures if expected_reason(*line.split(": ", 1)) is None]
    if unexpected:
        print(f"\nUnexpected failures ({len(unexpected)}; first {args.show_failures}):")
        for line in unexpected[: args.show_failures]:
            print("  " + line)
    if args.json:
        args.json.write_text(json.dumps(
            {"totals": dict(totals), "missing": dict(blocked_by.most_common()),
             "documented": {reason: ids for reason, ids in documented.items()},
             "tests": report}, indent=1))
    return 0


def _collection_failure(ours: dict, nodeid: str) -> dict:
    """The outcome of a test whose file did not even import under jaxopt_scratch."""
    for key, result in ours["results"].items():
        if key.endswith("::<collection>"):
            return result
    if ours.get("error", "") and "timeout" in ours["error"]:
        return {"outcome": "unfinished", "detail": ours["error"][:300]}
    if ours.get("error"):
        return {"outcome": "failed", "detail": ours["error"].strip().splitlines()[-1][:300]}
    return {"outcome": "failed", "detail": "not run (not collected under jaxopt_scratch)"}


if __name__ == "__main__":
    sys.exit(main())
