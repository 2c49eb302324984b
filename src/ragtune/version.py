"""The package version, in one place: ``ragtune.__version__`` and ``ragtune --version`` (when the distribution's
metadata is missing) both read it. Keep it equal to ``version`` in pyproject.toml."""

__version__ = "0.2.0"
