"""Headless Chromium from Debian's packages (tests/servers/chromium.install.sh), for looking at an HTML page as a
browser shows it: a screenshot with a profile of its own, no GPU, no network use of its own."""

import os
import shutil
import subprocess
import tempfile

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         # one CSS pixel per pixel, sRGB as written, no scrollbar over the page
         '--force-device-scale-factor=1', '--force-color-profile=srgb', '--hide-scrollbars']


def screenshot(page, png, window=(1400, 2400)):
    """A screenshot of the HTML file ``page`` into ``png`` (a ``window`` wide and high); returns it as an RGB image."""
    from PIL import Image

    chromium = shutil.which('chromium')
    assert chromium, 'Chromium is missing: run tests/servers/chromium.install.sh (make setup does)'
    profile = tempfile.mkdtemp(prefix='chromium-profile-')
    try:
        subprocess.run([chromium] + FLAGS + ['--user-data-dir=%s' % profile, '--window-size=%d,%d' % window,
                                             '--screenshot=%s' % png, 'file://%s' % page],
                       capture_output=True, timeout=120, check=True, env=dict(os.environ, HOME=profile))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return Image.open(str(png)).convert('RGB')
