"""Concurrent cluster merges against one store, shared by the unit tests (file, memfs) and the integration
tests on real servers."""

import threading

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl


def hammer(open_backend, workers=8, rounds=5):
    """Workers each merge their own keys into one cluster at once; returns the stored labels."""
    cl.update_cluster(open_backend(), cl.ClusterRequest('c1', spec={'cloudLabels': {}}))
    errors = []

    def work(worker):
        try:
            backend = open_backend()  # one client per worker, as one process would have
            for round_ in range(rounds):
                spec = {'cloudLabels': {'w%d-%d' % (worker, round_): 'v'}}
                cl.update_cluster(backend, cl.ClusterRequest('c1', spec=spec))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = cl.read_cluster(open_backend(), 'c1').cluster
    labels = stored['spec']['cloudLabels']
    assert (len(labels), stored['metadata']['generation']) == (workers * rounds, workers * rounds)
    return labels
