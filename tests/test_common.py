"""One harness run over every row of tests/_registry.py (optax's ``_OPTIMIZERS_UNDER_TEST``).

Adding a row to ``_registry.REGISTRY`` gives it every check below, including the
traced-hyperparameter harness (vmap over each numeric hyperparameter equals the
loop). Convergence and the dtype checks use the bowl x^2 + y^2 from (4, 3) (P1 of
``docs/tutorial_claims.rst``); structure checks use the nested pytree of ``_problems``.
"""

import functools

import _problems
import _registry as R
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _problems import BOWL
from absl.testing import parameterized

import jaxopt_scratch as jos

CASES = R.named()
BFLOAT16_CASES = R.named(where=lambda e: e.bfloat16)
STEPS = 200


def _tx(name, lr=None):
    return R.BY_NAME[name].make(lr)


def _bowl(name, tx, steps=STEPS, dtype=jnp.float32):
    """The trajectory of ``tx`` (row ``name``, its extra arguments passed) on the bowl."""
    update = R.BY_NAME[name].update(tx, BOWL.loss)
    return _problems.trajectory(tx, BOWL, steps, dtype, update=update)


@functools.cache
def _bowl_f32(name):
    """The float32 trajectory on the bowl, shared by several checks."""
    return _bowl(name, _tx(name))


def _loss(traj):
    return np.sum(np.square(traj), axis=-1)


class CommonTest(chex.TestCase):

    def test_every_public_alias_is_under_test(self):
        # Every optimizer alias of jos and jos.contrib (found from the package, not
        # listed here) has a registry row, so no alias escapes the harnesses.
        aliases = set(R.public_aliases())
        known = {"sgd", "rmsprop", "adagrad", "adam", "adamw", "nadam", "nadamw", "amsgrad",
                 "adamax", "adamaxw", "lion", "lamb", "lars"}
        self.assertTrue(known <= aliases, known - aliases)  # the detector finds the aliases
        covered = {R.alias_name(e) for e in R.REGISTRY}
        self.assertEqual(aliases - covered - set(R.HARNESS_PENDING), set())
        # The pending table names only real aliases that have no row in the harnesses.
        self.assertEqual(set(R.HARNESS_PENDING) - aliases, set())
        self.assertEqual(set(R.HARNESS_PENDING) & covered, set())

    @parameterized.named_parameters(*CASES)
    def test_converges_on_the_bowl(self, name):
        loss = _loss(_bowl_f32(name))
        self.assertLess(loss[-1], 1e-3 * 25.0)  # from 25 at (4, 3)
        self.assertTrue(np.all(np.isfinite(loss)))

    @parameterized.named_parameters(*CASES)
    def test_jit_and_no_jit_agree(self, name):
        tx = _tx(name)
        update = R.BY_NAME[name].update(tx, BOWL.loss)
        p = jnp.asarray(BOWL.x0, jnp.float32)
        state = tx.init(p)
        for k in range(3):
            u, state = update(BOWL.grad(p), state, p)  # eager, step by step
            p = jos.apply_updates(p, u)
            # XLA contracts x - lr * g into one FMA under jit: ~1 ulp apart.
            np.testing.assert_allclose(p, _bowl_f32(name)[k], rtol=1e-6, atol=1e-6)

    @parameterized.named_parameters(*CASES)
    def test_accepts_a_schedule_as_learning_rate(self, name):
        lr = R.BY_NAME[name].learning_rate
        halving = lambda count: lr * 0.5 ** count.astype(jnp.float32)
        if not R.BY_NAME[name].schedule:  # refused up front, naming the argument
            with pytest.raises(TypeError, match="`learning_rate`"):
                _tx(name, halving)
            return
        traj = _bowl(name, _tx(name, halving), 3)
        constant = _bowl_f32(name)
        # The schedule sees count 0 first: the first step is the constant-lr step...
        np.testing.assert_allclose(traj[0], constant[0], rtol=1e-6, atol=1e-6)
        # ...and the halved rates make the later steps differ.
        self.assertFalse(np.allclose(traj[2], constant[2], rtol=1e-4, atol=0))

    @parameterized.named_parameters(*CASES)
    def test_jitted_step_traces_once_and_state_is_stable(self, name):
        params = _problems.nested_params()

        def step(p, s, lr):
            tx = _tx(name, lr)
            u, s = R.BY_NAME[name].update(tx, _problems.nested_loss)(
                _problems.nested_grad(p), s, p)
            return jos.apply_updates(p, u), s

        chex.clear_trace_counter()
        jitted = jax.jit(chex.assert_max_traces(step, n=1))
        state = _tx(name).init(params)
        structure = jax.tree.structure(state)
        meta = [(x.shape, x.dtype) for x in jax.tree.leaves(state)]
        for lr in (0.01, 0.02):  # the learning rate is a jit argument: no retrace
            for _ in range(2):
                params, state = jitted(params, state, jnp.float32(lr))
                self.assertEqual(jax.tree.structure(state), structure)
                self.assertEqual([(x.shape, x.dtype) for x in jax.tree.leaves(state)], meta)

    @parameterized.named_parameters(*CASES)
    def test_updates_keep_the_gradient_dtype(self, name):
        tx = _tx(name)
        for dtype in (jnp.float32, jnp.bfloat16) if R.BY_NAME[name].bfloat16 else (jnp.float32,):
            params = _problems.nested_params(dtype)
            grads = _problems.nested_grad(params)
            state = jax.eval_shape(tx.init, params)
            # Rows without extra arguments get an unused value= (it must be ignored).
            update = (R.BY_NAME[name].update(tx, _problems.nested_loss)
                      if R.BY_NAME[name].extra_args or R.BY_NAME[name].per_example
                      else functools.partial(tx.update, value=jnp.float32(1.0)))
            updates, new_state = jax.eval_shape(update, grads, state, params)
            for u in jax.tree.leaves(updates):
                self.assertEqual(u.dtype, dtype)
            for x in R.moments(R.BY_NAME[name], new_state):  # moments stay at least float32
                self.assertEqual(x.dtype, jnp.float32)

    @parameterized.named_parameters(*BFLOAT16_CASES)
    def test_bfloat16_run_tracks_float32(self, name):
        bf16 = _bowl(name, _tx(name), dtype=jnp.bfloat16)
        f32 = _bowl_f32(name)
        # bfloat16 keeps 8 significant bits (4e-3 relative per rounding of the
        # params); over the first 20 steps the paths drifted apart by at most
        # 3.4e-2 relative (measured), and both converge. A fast row (Adan, NovoGrad,
        # SM3) passes near 0 within 20 steps, where the rounding error of the O(4)
        # positions is absolute: atol is two bfloat16 ulps at 4 (2**-6 each).
        steps = int(R.BY_NAME[name].tuned("track_steps"))
        np.testing.assert_allclose(bf16[:steps], f32[:steps], rtol=0.1, atol=2**-5)
        self.assertLess(_loss(bf16)[-1], 1e-3 * 25.0)

    @parameterized.named_parameters(*CASES)
    def test_float64_under_x64(self, name):
        with jax.enable_x64(True):
            tx = _tx(name)
            params = _problems.nested_params(jnp.float64)
            update = R.BY_NAME[name].update(tx, _problems.nested_loss)
            updates, state = jax.eval_shape(
                lambda p: update(_problems.nested_grad(p), tx.init(p), p), params)
            for x in jax.tree.leaves(updates) + _problems.float_leaves(state):
                self.assertEqual(x.dtype, jnp.float64)
            f64 = _bowl(name, tx, dtype=jnp.float64)
        # float32 and float64 agree to float32 precision while far from the minimum
        # (measured <= 9e-7 relative over the first 20 steps). Near 0 (fast rows pass
        # there within 20 steps) the error is absolute: 20 steps of float32 rounding of
        # O(4) positions, a few 2**-21 (measured <= 4.9e-7, NovoGrad).
        np.testing.assert_allclose(f64[:20], _bowl_f32(name)[:20], rtol=1e-5, atol=5e-6)
        self.assertLess(_loss(f64)[-1], 1e-3 * 25.0)

    @parameterized.named_parameters(*CASES)
    def test_integer_params_raise_type_error(self, name):
        with pytest.raises(TypeError, match=r"leaf \['w'\] has dtype int32.*Cast it first"):
            _tx(name).init({"w": jnp.arange(3), "b": jnp.zeros(1)})

    @parameterized.named_parameters(*CASES)
    def test_traced_hyperparameters_never_raise(self, name):
        # eval_shape traces without compiling: every numeric argument is a tracer, even
        # an out-of-range one (a sweep may pass anything; validation is for concrete values).
        params = _problems.small_params()

        def step(hp):
            tx = R.BY_NAME[name].make(**hp)
            update = R.BY_NAME[name].update(tx, _problems.nested_loss)
            return update(_problems.nested_grad(params), tx.init(params), params)[0]

        # Out of range for every argument: negative rates, decays, eps and coefficients.
        bad = {hp: jnp.float32(-1.0) for hp in ("learning_rate", *R.BY_NAME[name].hyperparams)}
        out = jax.eval_shape(step, bad)
        chex.assert_trees_all_equal_structs(out, params)


# ---------------------------------------------------------------------------------------------
# The traced-hyperparameter harness: every row x every numeric hyperparameter.
# ---------------------------------------------------------------------------------------------

TRACED_STEPS = 10  # enough for params to cross the minimum (Lion's b1 acts then)
_TRACES: dict[str, int] = {}  # row -> times its runner was traced (must stay 1)


@functools.cache
def _traced_runner(name):
    """Params and state after ``TRACED_STEPS`` scanned steps on ``small_params``, with the
    learning rate and every numeric hyperparameter as jit arguments: traced and compiled
    once per row, shared by all of its hyperparameter cases (the vmapped program too)."""
    entry = R.BY_NAME[name]
    _TRACES[name] = 0

    def run(hp):
        _TRACES[name] += 1  # Python runs only while tracing
        tx = entry.make(**hp)
        # Rows whose hyperparameters act on matrices only get a matrix leaf too.
        params = (_problems.matrix_params if entry.matrix else _problems.small_params)()
        return _problems.scan_run(tx, params, _problems.nested_grad, TRACED_STEPS,
                                  update=entry.update(tx, _problems.nested_loss))

    jitted = jax.jit(run)
    # vmap of the jitted runner batches its (single) trace; jitting that once per row
    # compiles the batched program once for all of the row's hyperparameters.
    return jitted, jax.jit(jax.vmap(jitted))


def _sweep(entry, hp):
    """Three values of ``hp``: for the learning rate lr/4, lr/2, lr; otherwise the
    value, the midpoint and the row's second value."""
    if hp == "learning_rate":
        return [entry.learning_rate / 4, entry.learning_rate / 2, entry.learning_rate]
    value, second = entry.hyperparams[hp]
    return [value, (value + second) / 2, second]


class TracedHyperparameterTest(chex.TestCase):

    @parameterized.named_parameters(*R.hyperparameter_cases())
    def test_vmap_over_each_hyperparameter_equals_the_loop(self, name, hp):
        entry = R.BY_NAME[name]
        jitted, vmapped = _traced_runner(name)
        values = _sweep(entry, hp)
        base = {"learning_rate": entry.learning_rate,
                **{k: v for k, (v, _) in entry.hyperparams.items()}}
        looped = [R.comparable(jitted({**{k: jnp.float32(v) for k, v in base.items()},
                                       hp: jnp.float32(x)})) for x in values]
        batch = {k: jnp.full((len(values),), v, jnp.float32) for k, v in base.items()}
        batched = R.comparable(vmapped({**batch, hp: jnp.asarray(values, jnp.float32)}))
        for i, expected in enumerate(looped):
            # vmap and the loop run the same float32 program; batching may reorder
            # fused operations, so allow a few ulps.
            chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), expected,
                                        rtol=entry.tuned("traced_rtol"),
                                        atol=entry.tuned("traced_atol"))
        # One trace for the loop, the vmap and every other hyperparameter of the row: the
        # values are jit arguments, not constants baked into the program.
        self.assertEqual(_TRACES[name], 1)
        # The value must matter (to the params or the state), or the comparison above
        # proves nothing.
        first, last = jax.tree.leaves(looped[0]), jax.tree.leaves(looped[-1])
        self.assertTrue(any(not np.allclose(a, b) for a, b in zip(first, last)),
                        f"{name}: {hp} did not change the result")
