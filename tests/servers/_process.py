"""Start-up and shut-down steps every test server shares (not a pytest plugin: the name starts with '_')."""

import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_until_serving(process, url, name, timeout=30, cafile=None, http_error_means_serving=False):
    """Poll ``url`` until it answers; fail at once when ``process`` exits, or after ``timeout`` seconds.
    With ``http_error_means_serving``, an HTTP error answer (e.g. 403 to an unsigned request) counts too.
    ``cafile`` verifies HTTPS; the server may write it only once started, so it is read on each attempt."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError('%s exited with %s' % (name, process.returncode))
        try:
            context = ssl.create_default_context(cafile=cafile) if cafile else None
            urllib.request.urlopen(url, timeout=1, context=context).read()
            return
        except urllib.error.HTTPError:
            if http_error_means_serving:
                return
            time.sleep(0.1)
        except Exception:
            time.sleep(0.1)
    raise RuntimeError('%s did not start on %s' % (name, url))


def stop_process(process):
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
