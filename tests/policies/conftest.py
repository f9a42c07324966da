from __future__ import annotations

import sys
from pathlib import Path

# The adapter strategies are shared with the infra tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "infra"))
