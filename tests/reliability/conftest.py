"""Registers the reliability summary as a plugin of the whole session (a conftest's own hooks would see
only this folder's tests; the summary needs the outcomes of the backend contract suites too)."""

from reliability.summary import FIGURES


def pytest_configure(config):
    if not config.pluginmanager.is_registered(FIGURES):
        config.pluginmanager.register(FIGURES, 'reliability-summary')
