"""The bundled test problems: a registry and the modules that fill it.

Importing this package imports the problem modules in teaching order (the
surfaces, then the networks, then the real data sets); each registers its
factories as it is imported, so :func:`registry.names` lists the surfaces first.
"""

# Order matters (registration order is the listing order), so isort is told to keep it.
from jaxopt_scratch._engine.problems import registry as registry  # noqa: I001
from jaxopt_scratch._engine.problems import surfaces as surfaces
from jaxopt_scratch._engine.problems import networks as networks
from jaxopt_scratch._engine.problems import datasets as datasets
from jaxopt_scratch._engine.problems import transformer as transformer
