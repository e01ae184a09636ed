"""``python -m vidpred.cli``: the ``vidpred`` command."""
import sys

from vidpred.cli import main

sys.exit(main())
