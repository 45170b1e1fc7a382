"""``python -m resim SCENARIO.toml`` runs a scenario (same as ``resim run``)."""

import sys

from .cli import main

sys.exit(main())
