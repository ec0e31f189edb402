"""``python -m jaxopt_scratch``: the command-line tool (see ``_cli``)."""

from jaxopt_scratch._cli.main import main

raise SystemExit(main())
