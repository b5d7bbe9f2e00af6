"""moto with S3's conditional-write rules, which moto (5.x) does not follow; run as a script with
moto_server's command line (tests/servers/moto.py starts every moto server of the tests this way).

Two gaps are filled, everything else is moto's own behaviour:

- Atomic conditional writes. moto checks ``If-Match``/``If-None-Match`` on PutObject and stores the object
  in a separate step, without a lock, while its server handles requests in threads: two writers expecting
  the same ETag can both succeed, which real S3 never allows. Every request that changes state (PUT, POST,
  DELETE) is handled one at a time here, so each check and the write it guards are atomic; reads stay
  concurrent.
- Conditional CopyObject. S3 honours ``If-None-Match: *`` and ``If-Match`` on CopyObject for the destination
  object (412 PreconditionFailed; If-Match on a missing object: 404 NoSuchKey), as it does on PutObject;
  moto ignores both on a copy. They are checked here the way moto checks them on PutObject.
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


def conditional_copies():
    """Make moto's CopyObject check the destination's If-None-Match / If-Match first."""
    from moto.s3.exceptions import MissingKey, PreconditionFailed
    from moto.s3.responses import S3Response

    copy_object = S3Response.copy_object

    def checked_copy_object(self):
        if_match, if_none_match = self.headers.get('If-Match'), self.headers.get('If-None-Match')
        if if_match or if_none_match:
            key_name = self.parse_key_name()
            existing = self.backend.get_object(self.bucket_name, key_name)
            if if_none_match == '*' and existing is not None:
                raise PreconditionFailed('If-None-Match')
            if if_match:
                if existing is None:
                    raise MissingKey(key=key_name)
                if if_match.replace('"', '') != existing.etag.replace('"', ''):
                    raise PreconditionFailed('If-Match')
        return copy_object(self)

    S3Response.copy_object = checked_copy_object


def main():
    """Run moto's server application behind the front (same command line as moto_server)."""
    from moto import server

    conditional_copies()
    original = server.DomainDispatcherApplication

    def wrapped(*args, **kwargs):
        return atomic_writes(original(*args, **kwargs))

    server.DomainDispatcherApplication = wrapped
    server.main()


if __name__ == '__main__':
    main()
