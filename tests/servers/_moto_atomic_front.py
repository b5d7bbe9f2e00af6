"""moto with atomic conditional writes, for tests that race writers against each other.

moto (5.x) checks ``If-Match``/``If-None-Match`` on PutObject and then stores the object in a separate
step, without a lock, while its server handles requests in threads: two writers expecting the same ETag
can both succeed, which real S3 never allows. Run as a script, this file serves moto's application with
every request that changes state (PUT, POST, DELETE) handled one at a time, so each check and the write it
guards are atomic; reads stay concurrent. Everything else is moto's own behaviour.

Started by the ``moto_atomic_server`` fixture (moto_atomic.py) with moto_server's command line.
"""

import threading

WRITES = ('PUT', 'POST', 'DELETE')


def atomic_writes(app):
    lock = threading.Lock()

    def front(environ, start_response):
        if environ.get('REQUEST_METHOD') not in WRITES:
            return app(environ, start_response)
        with lock:
            # moto builds the whole response inside the call, so the write is done when it returns
            return list(app(environ, start_response))

    return front


def main():
    """Run moto's server application behind the front (same command line as moto_server)."""
    from moto import server

    original = server.DomainDispatcherApplication

    def wrapped(*args, **kwargs):
        return atomic_writes(original(*args, **kwargs))

    server.DomainDispatcherApplication = wrapped
    server.main()


if __name__ == '__main__':
    main()
