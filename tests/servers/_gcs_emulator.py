"""Launch gcp-storage-emulator on 127.0.0.1 with the generation preconditions GCS documents.

The emulator ignores ``ifGenerationMatch``. Real GCS answers 412 conditionNotMet when the object's
current generation differs from it, where a missing object has generation 0 (so ``0`` means "must
not exist"). This launcher wraps the emulator's object handlers to do exactly that, so
create-if-absent and compare-and-swap are tested against a server that refuses lost updates.
The HTTP server handles one request at a time, so each check and the write it guards are atomic.

It also answers ``POST /token`` as an OAuth token endpoint that refuses every grant, standing in for
Google's token service when a test gives credentials Google would reject.

Usage: python _gcs_emulator.py PORT
"""

import http
import http.server
import sys
from functools import partial

from gcp_storage_emulator import server as emulator
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects
from gcp_storage_emulator.storage import Storage

PRECONDITION_FAILED = {
    'error': {
        'code': 412,
        'message': 'At least one of the pre-conditions you specified did not hold.',
        'errors': [{'domain': 'global', 'reason': 'conditionNotMet', 'locationType': 'header',
                    'location': 'If-Match', 'message': 'At least one of the pre-conditions you specified did not hold.'}],
    }
}


def _object_name(request):
    """Name of the object a request is about (path for get/delete, query or metadata for uploads)."""
    if request.params.get('object_id'):
        return request.params['object_id']
    if 'name' in request.query:
        return request.query['name'][0]
    data = request.data
    if isinstance(data, dict):
        return (data.get('meta') or data).get('name')
    return None


def _current_generation(storage, bucket, name):
    try:
        return int(storage.get_file_obj(bucket, name)['generation'])
    except NotFound:
        return 0


def with_generation_precondition(handler):
    is_upload = handler is objects.insert

    def guarded(request, response, storage, *args, **kwargs):
        wanted = request.query.get('ifGenerationMatch')
        if wanted and not request.query.get('upload_id'):
            bucket = request.params['bucket_name']
            name = _object_name(request)
            if name and storage.get_bucket(bucket) is not None:
                current = _current_generation(storage, bucket, name)
                if current != int(wanted[0]):
                    # GCS: a missing object read or deleted with a generation precondition is a 404.
                    missing = current == 0 and not is_upload
                    response.status = http.HTTPStatus.NOT_FOUND if missing else http.HTTPStatus.PRECONDITION_FAILED
                    response.json({'error': {'code': 404, 'message': 'No such object: %s/%s' % (bucket, name)}}
                                  if missing else PRECONDITION_FAILED)
                    return None
        return handler(request, response, storage, *args, **kwargs)

    return guarded


def refuse_token(request, response, storage, *args, **kwargs):
    response.status = http.HTTPStatus.BAD_REQUEST
    response.json({'error': 'invalid_grant', 'error_description': 'Invalid JWT Signature.'})


def install():
    for _pattern, handlers in emulator.HANDLERS:
        for method, handler in list(handlers.items()):
            if handler in (objects.insert, objects.get, objects.download, objects.delete):
                handlers[method] = with_generation_precondition(handler)
    # The router falls back to objects.insert for some upload paths.
    objects.insert = with_generation_precondition(objects.insert)
    emulator.HANDLERS = emulator.HANDLERS + ((r'^/token$', {emulator.POST: refuse_token}),)


class Server(http.server.HTTPServer):
    request_queue_size = 128  # concurrent test clients queue instead of being refused


def main():
    port = int(sys.argv[1])
    install()
    storage = Storage(use_memory_fs=True)
    httpd = Server(('127.0.0.1', port), partial(emulator.RequestHandler, storage))
    httpd.serve_forever()


if __name__ == '__main__':
    main()
