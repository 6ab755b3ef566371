"""``python -m otrs_closure.cli``: the same command line as ``otrs-closure``."""

import sys

from otrs_closure.cli import main

sys.exit(main())
