"""Independent float64 NumPy oracles, written from the update equations of the papers and of
the tutorials in ``docs/tutorial_claims.rst``.

These are deliberately naive: per-leaf Python loops, mutable state, ``1 - b**t``
in float64 (where it is exact enough). They share no code with the library.
Each oracle mimics one transform: ``update(grads, params) -> updates``, where
``grads``, ``params`` and the result are lists of float64 arrays (the
non-``None`` leaves of a pytree). Directions carry no sign and no learning
rate; :class:`LearningRate` applies both, as in the library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Leaves = list[np.ndarray]


class Oracle:
    """Base class: a stateful per-step map from gradients to updates."""

    def update(self, grads: Leaves, params: Leaves) -> Leaves:
        raise NotImplementedError


class Chain(Oracle):
    """Applies oracles one after the other."""

    def __init__(self, *parts: Oracle):
        self.parts = parts

    def update(self, grads, params):
        for part in self.parts:
            grads = part.update(grads, params)
        return grads


class Identity(Oracle):
    def update(self, grads, params):
        return [g.copy() for g in grads]


class Scale(Oracle):
    """u = s g."""

    def __init__(self, s: float):
        self.s = s

    def update(self, grads, params):
        return [self.s * g for g in grads]


class LearningRate(Oracle):
    """u = -lr_k g, with ``lr`` a number or a function of the 0-based step k."""

    def __init__(self, lr: float | Callable[[int], float], flip_sign: bool = True):
        self.lr, self.k, self.sign = lr, 0, (-1.0 if flip_sign else 1.0)

    def update(self, grads, params):
        lr = self.lr(self.k) if callable(self.lr) else self.lr
        self.k += 1
        return [self.sign * lr * g for g in grads]


class HeavyBall(Oracle):
    """Polyak momentum v = mu v + g, u = v; Nesterov (Sutskever 2013 form): u = g + mu v."""

    def __init__(self, mu: float, nesterov: bool = False):
        self.mu, self.nesterov, self.v = mu, nesterov, None

    def update(self, grads, params):
        if self.v is None:
            self.v = [np.zeros_like(g) for g in grads]
        out = []
        for i, g in enumerate(grads):
            self.v[i] = self.mu * self.v[i] + g
            out.append(g + self.mu * self.v[i] if self.nesterov else self.v[i].copy())
        return out


class Ema(Oracle):
    """m = b m + (1 - b) g; u = m / (1 - b^t) (tutorial 4) or u = m (tutorial 1)."""

    def __init__(self, b: float, debias: bool = True):
        self.b, self.debias, self.m, self.t = b, debias, None, 0

    def update(self, grads, params):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
        self.t += 1
        out = []
        for i, g in enumerate(grads):
            self.m[i] = self.b * self.m[i] + (1 - self.b) * g
            out.append(self.m[i] / (1 - self.b**self.t) if self.debias else self.m[i].copy())
        return out


class RMSProp(Oracle):
    """Tieleman & Hinton: s = d s + (1-d) g^2; u = g / sqrt(s + eps) or g / (sqrt(s) + eps).

    ``centered`` (Graves 2013) subtracts the squared mean gradient from ``s``;
    ``bias_correction`` divides both averages by ``1 - d^t``; ``s_0 = initial_scale``.
    """

    def __init__(self, decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt=True,
                 centered=False, bias_correction=False):
        self.d, self.eps, self.s0 = decay, eps, initial_scale
        self.in_sqrt, self.centered, self.debias = eps_in_sqrt, centered, bias_correction
        self.s = self.m = None
        self.t = 0

    def update(self, grads, params):
        if self.s is None:
            self.s = [np.full_like(g, self.s0) for g in grads]
            self.m = [np.zeros_like(g) for g in grads]
        self.t += 1
        c = (1 - self.d**self.t) if self.debias else 1.0
        out = []
        for i, g in enumerate(grads):
            self.s[i] = self.d * self.s[i] + (1 - self.d) * g * g
            self.m[i] = self.d * self.m[i] + (1 - self.d) * g
            s = self.s[i] / c
            if self.centered:
                s = s - (self.m[i] / c) ** 2
            out.append(g / np.sqrt(s + self.eps) if self.in_sqrt else g / (np.sqrt(s) + self.eps))
        return out


class AdaGrad(Oracle):
    """Duchi et al. 2011: s = s + g^2 (s_0 = initial value); u = g / sqrt(s + eps), 0 where s = 0."""

    def __init__(self, initial_accumulator_value=0.1, eps=1e-7):
        self.s0, self.eps, self.s = initial_accumulator_value, eps, None

    def update(self, grads, params):
        if self.s is None:
            self.s = [np.full_like(g, self.s0) for g in grads]
        out = []
        for i, g in enumerate(grads):
            self.s[i] = self.s[i] + g * g
            with np.errstate(invalid="ignore", divide="ignore"):
                u = g / np.sqrt(self.s[i] + self.eps)
            out.append(np.where(self.s[i] > 0, u, 0.0))
        return out


class Adam(Oracle):
    """Kingma & Ba 2015, Algorithm 1, with eps outside and ``eps_root`` inside the root.

    ``nesterov`` is Dozat's NAdam (2016) as optax writes it: the bias-corrected
    first moment is replaced by ``b1 m_t / (1 - b1^(t+1)) + (1 - b1) g_t / (1 - b1^t)``.
    """

    def __init__(self, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, nesterov=False):
        self.b1, self.b2, self.eps, self.eps_root, self.nesterov = b1, b2, eps, eps_root, nesterov
        self.m = self.v = None
        self.t = 0

    def _directions(self, grads):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
            self.v = [np.zeros_like(g) for g in grads]
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        m_hat, v_hat = [], []
        for i, g in enumerate(grads):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            if self.nesterov:
                m_hat.append(b1 * self.m[i] / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t))
            else:
                m_hat.append(self.m[i] / (1 - b1**t))
            v_hat.append(self.v[i] / (1 - b2**t))
        return m_hat, v_hat

    def update(self, grads, params):
        m_hat, v_hat = self._directions(grads)
        return [m / (np.sqrt(v + self.eps_root) + self.eps) for m, v in zip(m_hat, v_hat)]


class AMSGrad(Adam):
    """Reddi et al. 2018: the denominator uses the running max of v.

    optax (and we) take the max of the *debiased* v and debias m; each
    correction can be switched off (the paper's Algorithm 2 has neither).
    """

    def __init__(self, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, bias_correction_mu=True,
                 bias_correction_nu=True):
        super().__init__(b1, b2, eps, eps_root)
        self.v_max, self.debias_m, self.debias_v = None, bias_correction_mu, bias_correction_nu

    def update(self, grads, params):
        m_hat, v_hat = self._directions(grads)
        if not self.debias_m:
            m_hat = [m.copy() for m in self.m]
        if not self.debias_v:
            v_hat = [v.copy() for v in self.v]
        if self.v_max is None:
            self.v_max = [np.zeros_like(v) for v in v_hat]
        self.v_max = [np.maximum(a, b) for a, b in zip(self.v_max, v_hat)]
        return [m / (np.sqrt(v + self.eps_root) + self.eps) for m, v in zip(m_hat, self.v_max)]


class AdaMax(Oracle):
    """Kingma & Ba 2015, Algorithm 2: u_t = max(b2 u, |g| + eps); step m / ((1 - b1^t) u_t).

    The paper has no eps; optax (and we) add it to |g| inside the max.
    """

    def __init__(self, b1=0.9, b2=0.999, eps=1e-8):
        self.b1, self.b2, self.eps = b1, b2, eps
        self.m = self.u = None
        self.t = 0

    def update(self, grads, params):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
            self.u = [np.zeros_like(g) for g in grads]
        self.t += 1
        out = []
        for i, g in enumerate(grads):
            self.m[i] = self.b1 * self.m[i] + (1 - self.b1) * g
            self.u[i] = np.maximum(self.b2 * self.u[i], np.abs(g) + self.eps)
            out.append(self.m[i] / (1 - self.b1**self.t) / self.u[i])
        return out


class Lion(Oracle):
    """Chen et al. 2023, Program 1: u = sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g."""

    def __init__(self, b1=0.9, b2=0.99):
        self.b1, self.b2, self.m = b1, b2, None

    def update(self, grads, params):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
        out = []
        for i, g in enumerate(grads):
            out.append(np.sign(self.b1 * self.m[i] + (1 - self.b1) * g))
            self.m[i] = self.b2 * self.m[i] + (1 - self.b2) * g
        return out


class WeightDecay(Oracle):
    """u = g + wd * theta (decoupled when placed after an adaptive direction); ``mask`` per leaf."""

    def __init__(self, wd: float | Callable[[int], float], mask: Sequence[bool] | None = None):
        self.wd, self.mask, self.k = wd, mask, 0

    def update(self, grads, params):
        wd = self.wd(self.k) if callable(self.wd) else self.wd
        self.k += 1
        mask = self.mask or [True] * len(grads)
        return [g + wd * p if m else g.copy() for g, p, m in zip(grads, params, mask)]


class TrustRatio(Oracle):
    """Per leaf: u = g * tc * max(|p|, n) / (max(|g|, n) + eps); ratio 1 if a norm is 0.

    LAMB (You et al. 2020, Algorithm 2, phi = identity) and LARS (You et al.
    2017) apply it to the (decayed) direction. The LARS paper's denominator is
    ``|g| + wd |p|``; optax and we use the norm of the decayed gradient
    ``|g + wd p|`` instead, which this oracle receives as ``g``.
    """

    def __init__(self, min_norm=0.0, trust_coefficient=1.0, eps=0.0, mask=None):
        self.n, self.tc, self.eps, self.mask = min_norm, trust_coefficient, eps, mask

    def update(self, grads, params):
        mask = self.mask or [True] * len(grads)
        out = []
        for g, p, m in zip(grads, params, mask):
            if not m:
                out.append(g.copy())
                continue
            pn = max(math.sqrt(float(np.sum(p * p))), self.n)
            gn = max(math.sqrt(float(np.sum(g * g))), self.n)
            ratio = 1.0 if pn == 0 or gn == 0 else self.tc * pn / (gn + self.eps)
            out.append(g * ratio)
        return out


class Clip(Oracle):
    """Elementwise value clipping to [-delta, delta] (tutorial 3)."""

    def __init__(self, delta: float):
        self.delta = delta

    def update(self, grads, params):
        return [np.clip(g, -self.delta, self.delta) for g in grads]


class ClipGlobalNorm(Oracle):
    """Pascanu et al. 2013: g * min(1, c / |g|) with |g| over all leaves together."""

    def __init__(self, c: float):
        self.c = c

    def update(self, grads, params):
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        factor = 1.0 if norm < self.c else self.c / norm
        return [g * factor for g in grads]


def run(oracle: Oracle, params: Leaves, grad_fn: Callable[[Leaves], Leaves],
        steps: int) -> Leaves:
    """``steps`` updates of ``params`` (float64 leaves) with the oracle; returns the final leaves."""
    params = [np.asarray(p, np.float64).copy() for p in params]
    for _ in range(steps):
        updates = oracle.update(grad_fn(params), params)
        params = [p + u for p, u in zip(params, updates)]
    return params


# The optimizers of the tutorials (docs/tutorial_claims.rst) and of optax's aliases,
# assembled from the parts above.


def sgd(lr, momentum=None, nesterov=False):
    return Chain(Identity() if momentum is None else HeavyBall(momentum, nesterov),
                 LearningRate(lr))


def rmsprop(lr, decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt=True, centered=False,
            momentum=None, nesterov=False, bias_correction=False):
    # Momentum acts on the already scaled step, as in PyTorch and optax.
    return Chain(RMSProp(decay, eps, initial_scale, eps_in_sqrt, centered, bias_correction),
                 LearningRate(lr),
                 Identity() if momentum is None else HeavyBall(momentum, nesterov))


def adagrad(lr, initial_accumulator_value=0.1, eps=1e-7):
    return Chain(AdaGrad(initial_accumulator_value, eps), LearningRate(lr))


def adam(lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, nesterov=False):
    return Chain(Adam(b1, b2, eps, eps_root, nesterov), LearningRate(lr))


def adamw(lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, weight_decay=1e-4, mask=None,
          nesterov=False):
    # Loshchilov & Hutter: the decay bypasses the denominator but is scaled by lr.
    return Chain(Adam(b1, b2, eps, eps_root, nesterov), WeightDecay(weight_decay, mask),
                 LearningRate(lr))


def amsgrad(lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, bias_correction_mu=True,
            bias_correction_nu=True):
    return Chain(AMSGrad(b1, b2, eps, eps_root, bias_correction_mu, bias_correction_nu),
                 LearningRate(lr))


def adamax(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=None, mask=None):
    parts = [AdaMax(b1, b2, eps)]
    if weight_decay is not None:
        parts.append(WeightDecay(weight_decay, mask))
    return Chain(*parts, LearningRate(lr))


def lion(lr, b1=0.9, b2=0.99, weight_decay=1e-3, mask=None):
    return Chain(Lion(b1, b2), WeightDecay(weight_decay, mask), LearningRate(lr))


def lamb(lr, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0, mask=None):
    return Chain(Adam(b1, b2, eps, eps_root), WeightDecay(weight_decay, mask), TrustRatio(),
                 LearningRate(lr))


def lars(lr, weight_decay=0.0, weight_decay_mask=None, trust_coefficient=0.001, eps=0.0,
         trust_ratio_mask=None, momentum=0.9, nesterov=False):
    # You et al. 2017, Algorithm 1: v = m v + lr * local_lr * (g + wd w); w = w - v.
    return Chain(WeightDecay(weight_decay, weight_decay_mask),
                 TrustRatio(0.0, trust_coefficient, eps, trust_ratio_mask),
                 LearningRate(lr), HeavyBall(momentum, nesterov))


# --- jos.contrib -----------------------------------------------------------------------------


def warmup(peak: float, steps: int) -> Callable[[int], float]:
    """Linear warmup from 0 to ``peak`` over ``steps`` steps, then constant: ``peak min(k, W)/W``."""
    return lambda k: peak * min(k, steps) / steps


class ScheduleFree(Oracle):
    """Defazio et al. 2024 ("The Road Less Scheduled"), the wrapper form of Algorithm 1.

    z_{t+1} = z_t + base step at y_t;  c = w_t / sum_{i<=t} w_i with
    w_t = (max_{i<=t} lr_i)^p;  x_{t+1} = (1 - c) x_t + c z_{t+1};
    y_{t+1} = b1 x_{t+1} + (1 - b1) z_{t+1}.  x_1 = z_1 = y_1.

    Paper vs reference code: Algorithm 1 weights by gamma_t^2 with the Adam bias
    correction folded into gamma_t; the authors' code (and optax, and we) weight by
    the running maximum of the scheduled rate to the power p. The schedule is read
    at the 1-based step t for the weights (as optax), while the base oracle reads
    its own 0-based count.
    """

    def __init__(self, base: Oracle, lr, b1=0.9, weight_lr_power=2.0):
        self.base, self.lr, self.b1, self.p = base, lr, b1, weight_lr_power
        self.z = self.x = None
        self.t, self.lr_max, self.weight_sum = 0, 0.0, 0.0

    def update(self, grads, params):
        if self.z is None:
            self.z = [p.copy() for p in params]
            self.x = [p.copy() for p in params]
        self.t += 1
        lr = self.lr(self.t) if callable(self.lr) else self.lr
        self.lr_max = max(self.lr_max, lr)
        weight = self.lr_max**self.p
        self.weight_sum += weight
        c = weight / self.weight_sum if self.weight_sum > 0 else 0.0
        steps = self.base.update(grads, params)
        self.z = [z + s for z, s in zip(self.z, steps)]
        self.x = [(1 - c) * x + c * z for x, z in zip(self.x, self.z)]
        return [self.b1 * x + (1 - self.b1) * z - y for x, z, y in zip(self.x, self.z, params)]


# Issue 14, item 2: optimizers beyond optax (SOAP, MARS, cautious updates).


class Soap(Oracle):
    """Vyas et al. 2024 ("SOAP"), the one-layer algorithm box, for matrices, vectors, scalars.

    Per matrix leaf: G' = QL^T G QR; M = b1 M + (1-b1) G; V = b2 V + (1-b2) G'^2;
    N = QL [(QL^T M QR) / (sqrt(V) + eps)] QR^T; L = bs L + (1-bs) G G^T,
    R = bs R + (1-bs) G^T G. What the box leaves out, from the authors' code: the
    first call only sets L, R and Q = eigh (eigenvalues decreasing) and takes no
    step; the Adam count k starts at the second call and N is multiplied by
    sqrt(1 - b2^k) / (1 - b1^k); after call t with t - 1 a positive multiple of
    ``freq``, the paper's power-iteration refresh with the code's sort: S = L Q, the columns of S (and
    the rows or columns of V) ordered by diag(Q^T L Q) decreasing, Q = QR(S).
    An axis longer than ``max_dim`` keeps the identity; vectors are rotated only
    with ``precondition_1d``; scalars never.
    """

    def __init__(self, b1=0.95, b2=0.95, shampoo_beta=None, eps=1e-8, freq=10, max_dim=10000,
                 precondition_1d=False):
        self.b1, self.b2, self.eps, self.freq = b1, b2, eps, freq
        self.bs = b2 if shampoo_beta is None else shampoo_beta
        self.max_dim, self.p1d = max_dim, precondition_1d
        self.t, self.leaves = 0, None

    def _sides(self, g):
        if g.ndim == 2:
            return [g.shape[0] <= self.max_dim, g.shape[1] <= self.max_dim]
        if g.ndim == 1:
            return [self.p1d and g.shape[0] <= self.max_dim]
        assert g.ndim == 0, "the oracle covers scalars, vectors and matrices"
        return []

    @staticmethod
    def _rotate(x, qs, back=False):
        """QL^T x QR (back: QL x QR^T); None is the identity; vectors use QL only."""
        ql = qs[0] if qs else None
        qr = qs[1] if len(qs) > 1 else None
        if ql is not None:
            x = (ql if back else ql.T) @ x
        if qr is not None:
            x = x @ (qr.T if back else qr)
        return x

    def update(self, grads, params):
        if self.leaves is None:
            self.leaves = []
            for g in grads:
                sides = self._sides(g)
                self.leaves.append({
                    "m": np.zeros_like(g), "v": np.zeros_like(g),
                    "f": [np.zeros((d, d)) if rot else None for d, rot in zip(g.shape, sides)],
                    "q": [None] * len(sides)})
        self.t += 1
        b1, b2, bs, k = self.b1, self.b2, self.bs, self.t - 1
        out = []
        for g, s in zip(grads, self.leaves):
            if self.t == 1:
                out.append(np.zeros_like(g))
            else:
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * self._rotate(g, s["q"]) ** 2
                n = self._rotate(s["m"], s["q"]) / (np.sqrt(s["v"]) + self.eps)
                out.append(self._rotate(n, s["q"], back=True)
                           * math.sqrt(1 - b2**k) / (1 - b1**k))
            for i, f in enumerate(s["f"]):
                if f is None:
                    continue
                gram = np.outer(g, g) if g.ndim == 1 else (g @ g.T if i == 0 else g.T @ g)
                s["f"][i] = bs * f + (1 - bs) * gram
                if self.t == 1:
                    w, q = np.linalg.eigh(s["f"][i])
                    s["q"][i] = q[:, np.argsort(-w, kind="stable")]
                elif k % self.freq == 0:
                    q = s["q"][i]
                    power = s["f"][i] @ q
                    order = np.argsort(-np.diag(q.T @ power), kind="stable")
                    s["v"] = np.take(s["v"], order, axis=i)
                    s["q"][i] = np.linalg.qr(power[:, order])[0]
        return out


class Mars(Oracle):
    """Yuan et al. 2024 ("MARS"), the MARS-AdamW box with the approximate correction.

    c_t = g_t + gamma b1 / (1 - b1) (g_t - g_{t-1}) with c_1 = g_1 (x_1 = x_0 in the box);
    c~ = c / ||c||_2 when ||c||_2 > 1 (per leaf, as the code); Adam on c~ with eps after
    the bias correction.
    """

    def __init__(self, b1=0.95, b2=0.99, eps=1e-8, gamma=0.025):
        self.b1, self.b2, self.eps, self.gamma = b1, b2, eps, gamma
        self.t, self.m, self.v, self.prev = 0, None, None, None

    def update(self, grads, params):
        if self.m is None:
            self.m = [np.zeros_like(g) for g in grads]
            self.v = [np.zeros_like(g) for g in grads]
        self.t += 1
        b1, b2, t = self.b1, self.b2, self.t
        out = []
        for i, g in enumerate(grads):
            c = g if t == 1 else g + self.gamma * b1 / (1 - b1) * (g - self.prev[i])
            norm = math.sqrt(float(np.sum(c * c)))
            if norm > 1:
                c = c / norm
            self.m[i] = b1 * self.m[i] + (1 - b1) * c
            self.v[i] = b2 * self.v[i] + (1 - b2) * c * c
            out.append(self.m[i] / (1 - b1**t) / (np.sqrt(self.v[i] / (1 - b2**t)) + self.eps))
        self.prev = [g.copy() for g in grads]
        return out


class Cautious(Oracle):
    """Liang et al. 2024 ("Cautious Optimizers"), the C-AdamW box's mask on any inner oracle.

    phi = 1[u g > 0] for a direction u (``to_add=False``, before the learning rate),
    1[u g < 0] for an update to add; the kept coordinates are scaled by n / (nnz(phi) + 1),
    per leaf.
    """

    def __init__(self, inner: Oracle, to_add: bool = False):
        self.inner, self.sign = inner, (-1.0 if to_add else 1.0)

    def update(self, grads, params):
        out = []
        for u, g in zip(self.inner.update(grads, params), grads):
            phi = (self.sign * u * g > 0).astype(np.float64)
            out.append(u * phi * (u.size / (phi.sum() + 1)))
        return out
