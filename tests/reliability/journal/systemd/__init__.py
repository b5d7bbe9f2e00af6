"""A stand-in for python-systemd on the modules' PYTHONPATH: AnsibleModule sends its log lines ("Invoked with
...") to the journal when this package imports, so the tests can read exactly what a module logs."""
