"""Starting the CLI imports nothing heavy: every command pays for the imports of `ragtune.cli.main`."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("matplotlib", "pypdf", "torch", "transformers", "sentence_transformers", "onnxruntime", "lancedb")


def test_the_cli_module_imports_no_heavy_package():
    code = ("import sys, ragtune.cli.main; "
            f"print(','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
