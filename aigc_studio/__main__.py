"""``python -m aigc_studio``: the same as the ``aigc-studio`` command."""

import sys

from aigc_studio.cli import main

sys.exit(main())
