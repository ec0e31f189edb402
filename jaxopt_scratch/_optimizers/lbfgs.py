"""Quasi-Newton optimizers: L-BFGS with a line search. Chains only, no arithmetic."""


from jaxopt_scratch._core import base as _base
from jaxopt_scratch._core import combine as _combine
from jaxopt_scratch._transforms import lbfgs as _lbfgs
from jaxopt_scratch._transforms import scaling as _scaling
from jaxopt_scratch._transforms import zoom_linesearch as _zoom

# One instance shared by every default `lbfgs()`, as in optax (a transform is immutable).
_DEFAULT_LINESEARCH = _zoom.scale_by_zoom_linesearch(max_linesearch_steps=20,
                                                     initial_guess_strategy="one")


def lbfgs(
    learning_rate: _base.ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: _base.GradientTransformation | None = _DEFAULT_LINESEARCH,
) -> _base.GradientTransformationExtraArgs:
    r"""L-BFGS: a quasi-Newton direction, a step size from a line search.

    .. math::

        w_{k+1} = w_k - \eta_k\, \alpha_k\, H_k \nabla f(w_k)

    where :math:`H_k` is the limited-memory BFGS estimate of the inverse Hessian
    (:func:`scale_by_lbfgs`), :math:`\alpha_k` the learning rate (1 by
    default) and :math:`\eta_k` the step accepted by the line search (by default
    :func:`scale_by_zoom_linesearch` with at most 20 evaluations, starting each
    search from :math:`\eta = 1`).

    ``update`` needs the extra keyword arguments ``value``, ``grad`` and
    ``value_fn`` (see :func:`scale_by_zoom_linesearch`); :func:`run` and
    :func:`minimize` pass them. For a deterministic objective,
    :func:`value_and_grad_from_state` reuses the line search's last evaluation.

    Args:
        learning_rate: ``None`` (the line search sets the step) or a scalar or
            schedule :math:`\alpha_k` multiplying the direction before the search.
        memory_size: Static number of curvature pairs kept (see :func:`scale_by_lbfgs`).
        scale_init_precond: Static; see :func:`scale_by_lbfgs`.
        linesearch: A line-search transform, or ``None`` for a fixed step
            :math:`\alpha_k` (then ``update`` needs no extra arguments).

    Returns:
        ``chain(scale_by_lbfgs, scale_by_learning_rate, linesearch)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import jaxopt_scratch as jos
        >>> def f(x): return jnp.sum(x ** 2)
        >>> solver = jos.lbfgs()
        >>> params = jnp.array([1.0, 2.0, 3.0])
        >>> state = solver.init(params)
        >>> value_and_grad = jos.value_and_grad_from_state(f)
        >>> for _ in range(2):
        ...     value, grad = value_and_grad(params, state=state)
        ...     updates, state = solver.update(grad, state, params, value=value, grad=grad,
        ...                                    value_fn=f)
        ...     params = jos.apply_updates(params, updates)
        ...     print(f"{f(params):.2e}")
        7.52e+00
        0.00e+00

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (Algorithms 7.4
        and 7.5). Liu & Nocedal, `On the limited memory BFGS method for large
        scale optimization <https://doi.org/10.1007/BF01589116>`_, 1989.
    """
    return _combine.chain(
        _lbfgs.scale_by_lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond),
        _scaling.scale_by_learning_rate(1.0 if learning_rate is None else learning_rate),
        _base.identity() if linesearch is None else linesearch,
    )
