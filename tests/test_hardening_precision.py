"""Hardening, precision (issue 8, item 3): every alias on float32, bfloat16, float16 and float64 params.

Cross-cutting: the same dtype contract is checked for every alias at once, so
the tests are organised by theme, not by module. The contract (README,
"Guarantees"): updates come back in the params' (gradients') dtype, moments are
kept in at least float32 unless ``mu_dtype`` asks for less, and a bfloat16 or
float16 run tracks the float32 run. Complex64 params are covered in
test_hardening_inputs.py (compared with optax).
"""

import functools

import _problems as P
import _registry as R
import chex
import jax
import jax.numpy as jnp
from absl.testing import parameterized

import jaxopt_scratch as jos

DTYPES = ("float32", "bfloat16", "float16", "float64")
LOW = ("bfloat16", "float16")


# The first row of each family (module): it alone runs the dtype contract in float16 and
# float64. Those dtypes take the code paths of bfloat16 and float32 (moments from
# zeros_like_state, updates cast back with cast_like; x64 only widens both), so one row per
# family checks the contract there, while every row's float16 and float64 numbers are
# checked (jitted) by LowPrecisionTracksFloat32Test below.
FAMILY_REPRESENTATIVES = {e.family: e.name for e in reversed(R.REGISTRY)}


def _dtypes(entry):
    dtypes = DTYPES if entry.bfloat16 else tuple(d for d in DTYPES if d not in LOW)
    if FAMILY_REPRESENTATIVES[entry.family] != entry.name:
        dtypes = tuple(d for d in dtypes if d not in ("float16", "float64"))
    return dtypes


def _learning_rate(name):
    # The registry's "precision" tuning: LARS scales its step by trust_coefficient = 1e-3,
    # so lr 20 gives steps of ~2% of |p|, which bfloat16 params (8 significant bits,
    # ulp 2**-7 at 1.0) can still take.
    return R.BY_NAME[name].tuned("precision")


def _state_float_dtypes(entry, state):
    # A line search's cached gradient stays in the params' dtype (Entry.narrow_state).
    return {jnp.dtype(jnp.result_type(x)) for x in R.moments(entry, state)}


class DtypeContractTest(chex.TestCase):

    @R.registry_variants(
        [(f"{e.name}_{d}", e.name, d) for e in R.REGISTRY for d in _dtypes(e)])
    def test_updates_keep_the_param_dtype_and_moments_are_at_least_float32(self, name, dtype):
        with jax.enable_x64(dtype == "float64"):
            dt = jnp.dtype(dtype)
            tx = R.BY_NAME[name].make(_learning_rate(name))
            update = self.variant(R.BY_NAME[name].update(tx, P.bowl_loss))
            params = P.tiny_params(dt)
            state = tx.init(params)
            for _ in range(3):
                updates, state = update(P.bowl_grad(params), state, params)
                self.assertEqual({x.dtype for x in jax.tree.leaves(updates)}, {dt})
                params = jos.apply_updates(params, updates)
                self.assertEqual({x.dtype for x in jax.tree.leaves(params)}, {dt})
            wide = jnp.dtype("float64" if dtype == "float64" else "float32")
            self.assertLessEqual(_state_float_dtypes(R.BY_NAME[name], state), {wide},
                                 f"{name} keeps a moment narrower than {wide}")
            self.assertTrue(P.all_finite(params) and P.all_finite(state))

    @chex.variants(with_jit=True, without_jit=True)
    def test_mu_dtype_may_ask_for_less(self):
        # Documented: the float32 floor is a default; mu_dtype overrides it for the
        # first moment (the second moment stays float32: a bf16 EMA of g^2 freezes).
        tx = jos.adam(0.05, mu_dtype=jnp.bfloat16)
        params = P.tiny_params(jnp.float32)
        _, state = self.variant(tx.update)(P.bowl_grad(params), tx.init(params), params)
        self.assertEqual(state[0].mu["w"].dtype, jnp.bfloat16)
        self.assertEqual(state[0].nu["w"].dtype, jnp.float32)


TRACK_STEPS = 100


@functools.cache  # the float32 run is the reference of three tests per row
def _trajectory(name, dtype):
    """Params after each of TRACK_STEPS updates on the bowl, as float32 (one jitted scan)."""
    tx = R.BY_NAME[name].make(_learning_rate(name))
    update = R.BY_NAME[name].update(tx, P.bowl_loss)

    def run(params):
        def body(carry, _):
            p, s = carry
            u, s = update(P.bowl_grad(p), s, p)
            p = jos.apply_updates(p, u)
            return (p, s), jax.tree.map(lambda x: x.astype(jnp.float32), p)

        return jax.lax.scan(body, (params, tx.init(params)), None, length=TRACK_STEPS)[1]

    return jax.jit(run)(P.tiny_params(jnp.dtype(dtype)))


class LowPrecisionTracksFloat32Test(chex.TestCase):
    # Runs are whole jitted scans; the step-by-step Python paths of every dtype are
    # exercised by DtypeContractTest under both chex variants.

    @parameterized.named_parameters(
        [(f"{e.name}_{d}", e.name, d) for e in R.REGISTRY if e.bfloat16 for d in LOW])
    def test_low_precision_run_tracks_the_float32_run(self, name, dtype):
        reference = _trajectory(name, "float32")
        low = _trajectory(name, dtype)
        deviation = max(float(jnp.max(jnp.abs(a - b)))
                        for a, b in zip(jax.tree.leaves(low), jax.tree.leaves(reference)))
        # Params start at |p| <= 1.3. Storing them in bfloat16 rounds every step by
        # up to 2**-9 relative (2**-12 for float16). Measured worst deviation over the
        # 100 steps: <= 0.019 (AdaGrad, bf16) for every alias except the sign-like
        # ones (Lion; RMSProp near the minimum, where |g|/sqrt(v) ~ 1): there a
        # rounding flips a step of size lr out of phase, a transient gap of two
        # steps (2 * lr = 0.1, measured 0.107); their end points still agree to 0.05.
        # Rows with momentum on a sign (Signum) cycle wider: their registry "sign_gap".
        entry = R.BY_NAME[name]
        tolerance = (entry.tuned("sign_gap") * _learning_rate(name) if entry.sign_like
                     else entry.tuned("track_tol"))
        self.assertLess(deviation, tolerance, f"{name} in {dtype} drifted by {deviation}")
        start = P.bowl_loss(P.tiny_params())
        final = P.bowl_loss(jax.tree.map(lambda x: x[-1], low))
        self.assertLess(float(final), 0.5 * float(start), f"{name} in {dtype} did not descend")

    @parameterized.named_parameters(R.named())
    def test_float64_run_matches_float32_to_float32_precision(self, name):
        reference = _trajectory(name, "float32")
        with jax.enable_x64(True):
            wide = _trajectory(name, "float64")
        # The float32 run differs from float64 by rounding only: ~1e-7 relative
        # per step, compounded over 100 steps (measured <= 2e-5 absolute).
        chex.assert_trees_all_close(wide, reference, rtol=1e-4, atol=1e-4)
