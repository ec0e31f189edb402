"""Tests for tests/optax_suite/_shim.py, the name mapping of the opt-in optax-suite runner.

The runner itself (``python tests/optax_suite/run_optax_tests.py``) runs optax's test files
and takes minutes; these checks pin, in-process, how it maps optax names to jaxopt_scratch's
and how it reports a missing one.
"""

import pathlib
import sys

import pytest

import jaxopt_scratch as jos

sys.path.insert(0, str(pathlib.Path(__file__).parent / "optax_suite"))
import _shim


@pytest.mark.parametrize("module, name, expected", [
    ("optax", "adam", jos.adam),
    ("optax._src.alias", "sgd", jos.sgd),
    ("optax.transforms._combining", "chain", jos.chain),
    ("optax.schedules._schedule", "linear_schedule", jos.linear_schedule),
    ("optax.tree_utils", "tree_add", jos.tree.add),
    ("optax.tree_utils._state_utils", "NamedTupleKey", jos.tree.NamedTupleKey),
    ("optax.tree", "get", jos.tree.get),
    ("optax", "tree_map_params", jos.tree_map_params),
    ("optax.microbatching._microbatching", "micro_grad", jos.microbatching.micro_grad),
    ("optax", "microbatch", jos.microbatch),
])
def test_optax_names_resolve_to_the_same_jos_objects(module, name, expected):
    assert _shim._resolve(module, name) is expected


@pytest.mark.parametrize("module, name", [
    ("optax._src.alias", "_private_helper"), ("optax.losses", "l2_loss"),
    ("optax._src.base", "no_such_name")])
def test_private_out_of_scope_and_unknown_names_have_no_counterpart(module, name):
    assert _shim._resolve(module, name) is None


def test_a_missing_name_fails_as_cannot_run_only_when_used():
    stand_in = _shim.missing("optax._src.alias.nope")
    stand_ins = [stand_in]  # holding it (a parameterized list) is fine
    for use in (lambda: stand_ins[0](1.0), lambda: stand_in.attr,
                lambda: isinstance(1, stand_in), lambda: stand_in[int]):
        with pytest.raises(_shim.MissingName, match=r"`optax._src.alias.nope`"):
            use()


def test_only_test_code_runs_from_optax_sources():
    assert _shim._is_real_code("optax._src.alias_test")
    assert _shim._is_real_code("optax._src.test_utils")
    assert not _shim._is_real_code("optax._src.alias")


def test_documented_deviations_match_by_pattern_and_only_those():
    import run_optax_tests

    assert "integer params" in run_optax_tests.expected_reason(
        "transforms/_combining_test.py::ExtraArgsTest::test_extra_args")
    assert "DeprecationWarning" in run_optax_tests.expected_reason(
        "_src/alias_test.py::AliasTest::test_optimization60",
        "AssertionError: DeprecationWarning not triggered")
    assert run_optax_tests.expected_reason("_src/alias_test.py::AliasTest::test_optimization60",
                                           "AssertionError: Arrays are not almost equal") is None
