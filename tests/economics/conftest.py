from tests.economics.homes import busy_home  # noqa: F401 — the fixture, for every test here
